# libFuzzer targets, built when the compiler is clang. Each compiles the parser's sources
# itself with -fsanitize=fuzzer so coverage reaches them; ctest runs each briefly over its
# seed corpus (seeds/<name>/, crashes found are kept there as regression seeds).
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  function(cp_fuzz name)
    cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
    add_executable(fuzz_${name} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${name}.c ${F_SOURCES})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
    set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/${name})
    set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz_${name}_corpus)
    add_test(NAME fuzz.${name}
      COMMAND sh -c "mkdir -p ${work} && exec $<TARGET_FILE:fuzz_${name}> -max_total_time=20 -rss_limit_mb=1024 -timeout=10 ${work} ${seeds}")
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 120)
  endfunction()
  include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz/targets.cmake)
endif()
