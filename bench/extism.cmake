# Extism plugins (issue 15): count_vowels (code.wasm from ../shared/extism) pooled per engine,
# against the official JS host in the same run: bench/extism-peer.sh.
# Run: build/<dir>/bench/warmpool_extism_bench   (see docs/PERFORMANCE.md "Extism plugins")
if(TARGET warmpool_extism)
  add_executable(warmpool_extism_bench extism_bench.cpp)
  target_compile_definitions(warmpool_extism_bench PRIVATE
    WARMPOOL_EXTISM_DEFAULT_PLUGINS="${PROJECT_SOURCE_DIR}/../shared/extism/plugins")
  target_link_libraries(warmpool_extism_bench PRIVATE warmpool::core warmpool::extism
                        benchmark::benchmark)
  if(TARGET warmpool_v8)
    target_link_libraries(warmpool_extism_bench PRIVATE warmpool::v8)
  endif()
  warmpool_project_target(warmpool_extism_bench)
endif()
