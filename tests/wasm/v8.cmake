# Tests of the V8 loader (warmpool::v8), included by tests/wasm/CMakeLists.txt when the target
# exists (after warmpool_wasm_test() is defined there). They run the bundled plugins and small
# inline .wat modules.
#
# No `concurrency` label: libnode's V8 is not built with ThreadSanitizer, so the V8 tests run
# under TSan in a preset of their own, tsan-v8 (every test whose name starts with V8), with
# ignore_noninstrumented_modules=1 (see scripts/test.sh); the deadline test's 2x time bound is
# left to the Release and ASan runs, as TSan slows the guest down unevenly.
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
