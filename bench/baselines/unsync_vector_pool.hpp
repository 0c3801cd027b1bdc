// bench/baselines/unsync_vector_pool.hpp — the floor: an unsynchronised
// std::vector pop/push with the pool's acquire/release shape (benchmark
// baseline, not used by the library).
//
// No atomics, no lock, no counters: what a pool costs when only one thread
// ever touches it. In multi-threaded runs each thread gets its own instance of
// this (perfect, share-nothing scaling), so it bounds every real pool from above.
//
//   baselines::UnsyncVectorPool<Handle, Err> pool(8, make_handle);
//   auto inst = pool.acquire();
//   pool.release(std::move(*inst));
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <utility>
#include <vector>

namespace baselines {

template <class T, class E>
class UnsyncVectorPool {
 public:
  template <class Factory>
  UnsyncVectorPool(std::size_t warm_count, Factory&& factory) {
    idle_.reserve(warm_count);
    for (std::size_t i = 0; i < warm_count; ++i) idle_.push_back(std::move(*factory()));
  }

  std::expected<T, E> acquire() {
    if (idle_.empty()) [[unlikely]]
      return std::unexpected(E::resource_limit("unsynchronised pool is empty"));
    T instance = std::move(idle_.back());
    idle_.pop_back();
    return instance;
  }

  void release(T instance) { idle_.push_back(std::move(instance)); }

 private:
  std::vector<T> idle_;
};

}  // namespace baselines
