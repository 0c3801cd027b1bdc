// warmpool_pool_bench: every pool benchmark in one binary, so the ratios
// between warmpool and the baselines come from one run on one machine state.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_support.hpp"
#include "suites.hpp"

int main(int argc, char** argv) {
  bench::register_core();
  bench::register_lifecycle();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("clock_pair_ns", std::to_string(bench::clock_pair_overhead_ns()));
  benchmark::AddCustomContext("busy_work_rounds_per_us",
                              std::to_string(bench::BusyWork::calibrate_now()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
