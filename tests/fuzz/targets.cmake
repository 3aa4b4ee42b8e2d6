set(cp_dict_sources ${PROJECT_SOURCE_DIR}/codecs/dict.c ${PROJECT_BINARY_DIR}/codecs/dict_gen.c)
cp_fuzz(dshdr SOURCES ${PROJECT_SOURCE_DIR}/codecs/header.c ${PROJECT_SOURCE_DIR}/codecs/tables.c
  ${PROJECT_SOURCE_DIR}/codecs/dataset.c ${cp_dict_sources} LIBS cp_base ZLIB::ZLIB)
target_include_directories(fuzz_dshdr PRIVATE ${PROJECT_SOURCE_DIR}/codecs)
cp_fuzz(pdu SOURCES ${PROJECT_SOURCE_DIR}/gateway/dicom/ul_pdu.c ${PROJECT_SOURCE_DIR}/gateway/dicom/dimse.c
  LIBS cp_base)
target_include_directories(fuzz_pdu PRIVATE ${PROJECT_SOURCE_DIR}/gateway/dicom)
cp_fuzz(fsm SOURCES ${PROJECT_SOURCE_DIR}/gateway/dicom/ul_fsm.c LIBS cp_base)
target_include_directories(fuzz_fsm PRIVATE ${PROJECT_SOURCE_DIR}/gateway/dicom)
cp_fuzz(ds SOURCES ${PROJECT_SOURCE_DIR}/codecs/dataset.c ${PROJECT_SOURCE_DIR}/codecs/tables.c
  ${cp_dict_sources} LIBS cp_base)
target_include_directories(fuzz_ds PRIVATE ${PROJECT_SOURCE_DIR}/codecs)
cp_fuzz(charset SOURCES ${PROJECT_SOURCE_DIR}/codecs/charset.c LIBS cp_base)
target_include_directories(fuzz_charset PRIVATE ${PROJECT_SOURCE_DIR}/codecs)
cp_fuzz(xcode SOURCES ${PROJECT_SOURCE_DIR}/codecs/xcode.c ${PROJECT_SOURCE_DIR}/codecs/charset.c
  ${PROJECT_SOURCE_DIR}/codecs/tables.c ${cp_dict_sources} LIBS cp_base ZLIB::ZLIB)
target_include_directories(fuzz_xcode PRIVATE ${PROJECT_SOURCE_DIR}/codecs)
cp_fuzz(decode SOURCES ${PROJECT_SOURCE_DIR}/codecs/pixels.c ${PROJECT_SOURCE_DIR}/codecs/j2k.c
  ${PROJECT_SOURCE_DIR}/codecs/dcmtk/adapter.cc LIBS cp_base PkgConfig::OPENJP2 ${CASEPORT_DCMTK_LIBS})
target_include_directories(fuzz_decode PRIVATE ${PROJECT_SOURCE_DIR}/codecs)
cp_fuzz(http SOURCES ${PROJECT_SOURCE_DIR}/gateway/http/http_req.c LIBS cp_base ${HTTP_PARSER_LIB})
target_include_directories(fuzz_http PRIVATE ${PROJECT_SOURCE_DIR}/gateway/http ${PROJECT_SOURCE_DIR}/gateway
  ${HTTP_PARSER_INCLUDE})
target_link_libraries(fuzz_http PRIVATE cp_config cp_storage PkgConfig::LIBUV)
cp_fuzz(json SOURCES ${PROJECT_SOURCE_DIR}/gateway/http/json_text.c LIBS cp_base PkgConfig::JANSSON)
target_include_directories(fuzz_json PRIVATE ${PROJECT_SOURCE_DIR}/gateway/http)
cp_fuzz(log SOURCES ${PROJECT_SOURCE_DIR}/base/cp_log.c ${PROJECT_SOURCE_DIR}/base/cp_utf8.c
  LIBS cp_base PkgConfig::JANSSON)
target_include_directories(fuzz_log PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit/base)
