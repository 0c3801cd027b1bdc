// bench/hit_loops.hpp — the warm-hit benchmark loops, shared by the core
// benchmarks and the lifecycle-option benchmarks so both time the same code.
//
// Each loop works on `shared_pool<Pool>` (built by the benchmark's Setup) and
// reports items = round trips; for warmpool pools thread 0 also reports the
// pool's hit ratio, which must be 1 for a hit benchmark to mean anything.
//
//   benchmark::RegisterBenchmark("hit", hit_acquire_release<Warm<Handle>>)->Setup(...);
#pragma once

#include <benchmark/benchmark.h>

#include <utility>

#include "bench_support.hpp"
#include "pool_types.hpp"

namespace bench {

template <class Pool>
inline void report_hit_ratio(benchmark::State& state, const Pool& pool) {
  if constexpr (is_warmpool<Pool>::value) {
    if (state.thread_index() != 0) return;
    const auto m = pool.metrics();
    const double total = static_cast<double>(m->hits() + m->misses());
    state.counters["hit_ratio"] = total > 0 ? static_cast<double>(m->hits()) / total : 0.0;
  }
}

// The timed loop shared by every acquire()+release() benchmark.
template <class Pool>
inline void acquire_release_loop(benchmark::State& state, Pool& pool) {
  for (auto _ : state) {
    auto inst = pool.acquire();
    if (!inst) [[unlikely]] {
      state.SkipWithError(inst.error().message.c_str());
      break;
    }
    touch(*inst);
    pool.release(std::move(*inst));
  }
  state.SetItemsProcessed(state.iterations());
}

// acquire() + release(): the seed's API shape, available on every pool.
template <class Pool>
void hit_acquire_release(benchmark::State& state) {
  Pool& pool = *shared_pool<Pool>;
  acquire_release_loop(state, pool);
  report_hit_ratio(state, pool);
}

// checkout(): the RAII handle returns the instance at scope exit.
template <class Pool>
void hit_checkout(benchmark::State& state) {
  Pool& pool = *shared_pool<Pool>;
  for (auto _ : state) {
    auto inst = pool.checkout();
    if (!inst) [[unlikely]] {
      state.SkipWithError(inst.error().message.c_str());
      break;
    }
    touch(**inst);
  }
  state.SetItemsProcessed(state.iterations());
  report_hit_ratio(state, pool);
}

// Hit benchmarks run at 1, 2, 4 and 8 threads on one shared pool; real time,
// so items/s is the aggregate over all threads.
inline void thread_counts(benchmark::internal::Benchmark* b) {
  b->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime();
}

}  // namespace bench
