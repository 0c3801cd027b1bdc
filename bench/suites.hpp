// bench/suites.hpp — the benchmark groups linked into warmpool_pool_bench.
//
// Each group registers its benchmarks explicitly (rather than through static
// BENCHMARK macros) so the binary runs them in a fixed, readable order.
//
//   int main(int argc, char** argv) { bench::register_core(); ...; }
#pragma once

namespace bench {

// Issue 2: warm hit round trip, cold path, baselines.
void register_core();
// Issue 3: hit path with lifecycle options, Fresh latency and saturation, handoff.
void register_lifecycle();

}  // namespace bench
