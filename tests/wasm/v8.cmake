# Tests of the V8 loader (warmpool::v8), included by tests/wasm/CMakeLists.txt when the target
# exists (after warmpool_wasm_test() is defined there). They run the bundled plugins and small
# inline .wat modules.
#
# No `concurrency` label: libnode's V8 is not built with ThreadSanitizer, so TSan cannot see the
# synchronisation inside V8 and would report races that are not ours.
warmpool_wasm_test(warmpool_v8_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/v8_module_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/v8_call_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/v8_limits_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/v8_lifecycle_test.cpp
  LIBS warmpool::v8)
warmpool_wasm_test(warmpool_v8_pool_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/v8_pool_test.cpp
  LIBS warmpool::v8)
