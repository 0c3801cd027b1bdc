// Issue 2 benchmarks: warm hit round trip and cold path through
// warmpool::InstancePool, against the seed design, a mutex+vector pool and the
// unsynchronised floor. Multi-threaded runs share one pool and report
// aggregate items/s (UseRealTime: items over wall time, summed over threads).
#include <benchmark/benchmark.h>

#include <chrono>
#include <utility>

#include "bench_support.hpp"
#include "hit_loops.hpp"
#include "pool_types.hpp"
#include "suites.hpp"

namespace bench {
namespace {

constexpr std::chrono::microseconds kCostlyFactory{50};

// The floor: each thread pops and pushes its own vector, nothing shared.
template <class T>
void hit_floor(benchmark::State& state) {
  Floor<T> pool(kHitPoolSize, make_instance<T>);
  acquire_release_loop(state, pool);
}

// Cold path: the pool holds nothing idle (warm_count 0) and every instance is
// destroyed through the pool after use, so each acquire is a miss that runs
// the factory and each round trip also pays one destruction.
template <class Pool>
void cold_round_trip(benchmark::State& state) {
  Pool& pool = *shared_pool<Pool>;
  for (auto _ : state) {
    if constexpr (is_warmpool<Pool>::value) {
      auto inst = pool.checkout();
      if (!inst) [[unlikely]] {
        state.SkipWithError(inst.error().message.c_str());
        break;
      }
      touch(**inst);
      inst->discard();
    } else {
      auto inst = pool.acquire();
      if (!inst) [[unlikely]] {
        state.SkipWithError(inst.error().message.c_str());
        break;
      }
      touch(*inst);
      pool.discard(std::move(*inst));
    }
  }
  state.SetItemsProcessed(state.iterations());
  report_hit_ratio(state, pool);
}

// The same cold round trip, detaching with take() instead of discard(): the
// instance and its slot leave the pool and the caller destroys it.
void cold_round_trip_take(benchmark::State& state) {
  Warm<Handle>& pool = *shared_pool<Warm<Handle>>;
  for (auto _ : state) {
    auto inst = pool.checkout();
    if (!inst) [[unlikely]] {
      state.SkipWithError(inst.error().message.c_str());
      break;
    }
    Handle taken = inst->take();
    touch(taken);
  }
  state.SetItemsProcessed(state.iterations());
  report_hit_ratio(state, pool);
}

// What a miss costs with no pool at all: build and destroy.
void cold_factory_only(benchmark::State& state) {
  for (auto _ : state) {
    auto inst = make_instance<Handle>();
    touch(*inst);
  }
  state.SetItemsProcessed(state.iterations());
}

std::expected<Handle, BenchError> make_costly_handle() {
  BusyWork::run(kCostlyFactory);
  return make_instance<Handle>();
}

template <class Pool>
void setup_costly(const benchmark::State&) {
  shared_pool<Pool> = make_pool<Pool>(kHitPoolSize, 0, make_costly_handle);
}

template <class T>
void register_hits(const char* type) {
  const std::string t = type;
  benchmark::RegisterBenchmark(("hit/warmpool/acquire_release/" + t).c_str(),
                               hit_acquire_release<Warm<T>>)
      ->Setup(setup_shared<Warm<T>, kHitPoolSize>)
      ->Teardown(teardown_shared<Warm<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark(("hit/warmpool/checkout/" + t).c_str(), hit_checkout<Warm<T>>)
      ->Setup(setup_shared<Warm<T>, kHitPoolSize>)
      ->Teardown(teardown_shared<Warm<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark(("hit/seed/acquire_release/" + t).c_str(),
                               hit_acquire_release<Seed<T>>)
      ->Setup(setup_shared<Seed<T>, kHitPoolSize>)
      ->Teardown(teardown_shared<Seed<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark(("hit/mutex/acquire_release/" + t).c_str(),
                               hit_acquire_release<Naive<T>>)
      ->Setup(setup_shared<Naive<T>, kHitPoolSize>)
      ->Teardown(teardown_shared<Naive<T>>)
      ->Apply(thread_counts);
  benchmark::RegisterBenchmark(("hit/floor/acquire_release/" + t).c_str(), hit_floor<T>)
      ->Apply(thread_counts);
}

template <class Pool>
void register_cold(const char* name) {
  benchmark::RegisterBenchmark((std::string("cold/") + name + "/handle").c_str(),
                               cold_round_trip<Pool>)
      ->Setup(setup_shared<Pool, 0>)
      ->Teardown(teardown_shared<Pool>)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark((std::string("cold_50us/") + name + "/handle").c_str(),
                               cold_round_trip<Pool>)
      ->Setup(setup_costly<Pool>)
      ->Teardown(teardown_shared<Pool>)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace

void register_core() {
  register_hits<Handle>("handle");
  register_hits<Blob64>("blob64");
  register_cold<Warm<Handle>>("warmpool");
  benchmark::RegisterBenchmark("cold/warmpool_take/handle", cold_round_trip_take)
      ->Setup(setup_shared<Warm<Handle>, 0>)
      ->Teardown(teardown_shared<Warm<Handle>>)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  register_cold<Seed<Handle>>("seed");
  register_cold<Naive<Handle>>("mutex");
  benchmark::RegisterBenchmark("cold/factory_only/handle", cold_factory_only)->UseRealTime();
}

}  // namespace bench
