set(VV_OTLP_JSON_SOURCES json_decode.cc json_encode.cc)
set(VV_OTLP_JSON_TESTS json_test.cc)
