cp_fuzz(dshdr SOURCES ${PROJECT_SOURCE_DIR}/codecs/dshdr.c ${PROJECT_SOURCE_DIR}/codecs/dicom_tables.c
  LIBS cp_base ZLIB::ZLIB)
target_include_directories(fuzz_dshdr PRIVATE ${PROJECT_SOURCE_DIR}/codecs)
