# End-to-end tests: the real caseport binary on loopback, a real PostgreSQL, DCMTK's
# tools as peers. One ctest test per tests/e2e/test_*.sh.
file(GLOB e2e_scripts ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_*.sh)
foreach(script ${e2e_scripts})
  get_filename_component(name ${script} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${name})
  add_test(NAME e2e.${name} COMMAND bash ${script})
  set_tests_properties(e2e.${name} PROPERTIES LABELS "e2e;pg;net" TIMEOUT 600
    ENVIRONMENT "CASEPORT=$<TARGET_FILE:caseport>;SRC=${PROJECT_SOURCE_DIR};ASAN_OPTIONS=detect_leaks=1")
endforeach()
