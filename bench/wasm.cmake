# Engine benchmarks (issue 4): the markdown plugin per engine — compile,
# instantiate, pooled versus fresh calls, Reset versus re-instantiation, call
# entry costs, pool overhead, fib(25) and metering overhead. One binary, so the
# ratios it prints at the end come from one run on one machine state.
# Run: build/<dir>/bench/warmpool_wasm_bench   (see docs/PERFORMANCE.md "Engines")
if(TARGET warmpool_wasm)
  add_executable(warmpool_wasm_bench wasm_bench.cpp)
  get_property(warmpool_bench_plugin_dir GLOBAL PROPERTY WARMPOOL_PLUGIN_DIR)
  if(NOT warmpool_bench_plugin_dir)
    set(warmpool_bench_plugin_dir ${WARMPOOL_PLUGIN_DIR})
  endif()
  target_compile_definitions(warmpool_wasm_bench PRIVATE
    WARMPOOL_PLUGIN_DIR="${warmpool_bench_plugin_dir}"
    WARMPOOL_MARKDOWN_SAMPLE="${PROJECT_SOURCE_DIR}/plugins/testdata/markdown/document.md")
  target_link_libraries(warmpool_wasm_bench PRIVATE warmpool::core warmpool::wasm benchmark::benchmark)
  if(TARGET warmpool_v8)
    target_link_libraries(warmpool_wasm_bench PRIVATE warmpool::v8)
  endif()
  if(TARGET warmpool_plugins)
    add_dependencies(warmpool_wasm_bench warmpool_plugins)
  endif()
  warmpool_project_target(warmpool_wasm_bench)
endif()

# The embedding API per call (typed and by name) and a host function round trip, per engine.
# Run: build/<dir>/bench/warmpool_embedding_bench
if(TARGET warmpool_wasm)
  add_executable(warmpool_embedding_bench embedding_bench.cpp)
  target_link_libraries(warmpool_embedding_bench PRIVATE warmpool::wasm benchmark::benchmark)
  if(TARGET warmpool_v8)
    # V8 itself too, for the floor rows (a bare v8::Function::Call).
    find_package(LibnodeV8 REQUIRED)
    target_link_libraries(warmpool_embedding_bench PRIVATE warmpool::v8 LibnodeV8::LibnodeV8)
    target_compile_definitions(warmpool_embedding_bench PRIVATE WARMPOOL_BENCH_V8=1)
  endif()
  warmpool_project_target(warmpool_embedding_bench)
endif()
