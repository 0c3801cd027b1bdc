// bench/pool_types.hpp — the pools under test behind one construction call,
// and the shared pool a multi-threaded benchmark run works on.
//
// `Warm<T>` is the library's pool (`Warm<T, L>` with a lifecycle type L);
// `Seed<T>`, `Naive<T>` are the baselines.
// Each benchmark's Setup builds `shared_pool<Pool>` once per run (before its
// threads start) and Teardown destroys it, so every thread of a run hits the
// same pool, as a server's request threads would.
//
//   bench_fn->Setup(setup_shared<Warm<Handle>, 8>)->Teardown(teardown_shared<Warm<Handle>>);
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <type_traits>
#include <utility>

#include "baselines/mutex_pool.hpp"
#include "baselines/seed_pool.hpp"
#include "baselines/unsync_vector_pool.hpp"
#include "bench_support.hpp"
#include "warmpool/instance_pool.hpp"

namespace bench {

template <class T, class L = warmpool::Lifecycle<T>>
using Warm = warmpool::InstancePool<T, BenchError, L>;
template <class T>
using Seed = baselines::SeedPool<T, BenchError>;
template <class T>
using Naive = baselines::MutexPool<T, BenchError>;
template <class T>
using Floor = baselines::UnsyncVectorPool<T, BenchError>;

// Enough instances that no thread of an 8-thread run ever misses.
inline constexpr std::size_t kHitPoolSize = 8;

template <class Pool>
struct is_warmpool : std::false_type {};
template <class T, class L>
struct is_warmpool<Warm<T, L>> : std::true_type {};

[[noreturn]] inline void die(const char* what, const BenchError& error) {
  std::fprintf(stderr, "benchmark setup failed: %s: %s\n", what, error.message.c_str());
  std::abort();
}

template <class Pool, class Factory>
std::unique_ptr<Pool> make_pool(std::size_t max_instances, std::size_t warm_count,
                                Factory factory) {
  if constexpr (is_warmpool<Pool>::value) {
    warmpool::PoolConfig cfg;
    cfg.max_instances = max_instances;
    cfg.warm_count = warm_count;
    auto created = Pool::create(cfg, std::move(factory));
    if (!created) die("InstancePool::create", created.error());
    return std::make_unique<Pool>(std::move(*created));
  } else {
    auto created = Pool::create(max_instances, warm_count, std::move(factory));
    if (!created) die("baseline create", created.error());
    return std::move(*created);
  }
}

template <class Pool>
inline std::unique_ptr<Pool> shared_pool;

template <class T>
struct pooled;
template <class T, class L>
struct pooled<Warm<T, L>> {
  using type = T;
};
template <class T>
struct pooled<Seed<T>> {
  using type = T;
};
template <class T>
struct pooled<Naive<T>> {
  using type = T;
};

template <class Pool, std::size_t WarmCount>
void setup_shared(const benchmark::State&) {
  shared_pool<Pool> =
      make_pool<Pool>(kHitPoolSize, WarmCount, make_instance<typename pooled<Pool>::type>);
}

template <class Pool>
void teardown_shared(const benchmark::State&) {
  shared_pool<Pool>.reset();
}

}  // namespace bench
