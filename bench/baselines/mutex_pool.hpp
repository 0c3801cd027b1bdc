// bench/baselines/mutex_pool.hpp — the naive pool: one std::mutex around a
// std::vector of idle instances (benchmark baseline, not used by the library).
//
// What most hand-written pools look like; it shows what a single lock costs
// on the hit path, uncontended and contended. Counters are plain integers
// under the same lock, and the factory runs under it too.
//
//   auto pool = baselines::MutexPool<Handle, Err>::create(8, 8, make_handle);
//   auto inst = pool->acquire();
//   pool->release(std::move(*inst));
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace baselines {

template <class T, class E>
class MutexPool {
 public:
  using Factory = std::function<std::expected<T, E>()>;

  static std::expected<std::unique_ptr<MutexPool>, E> create(std::size_t max_instances,
                                                             std::size_t warm_count,
                                                             Factory factory) {
    std::unique_ptr<MutexPool> pool(new MutexPool(max_instances, std::move(factory)));
    const std::size_t warm = warm_count < max_instances ? warm_count : max_instances;
    for (std::size_t i = 0; i < warm; ++i) {
      auto built = pool->factory_();
      if (!built) return std::unexpected(std::move(built.error()));
      pool->idle_.push_back(std::move(*built));
      ++pool->live_;
    }
    return pool;
  }

  std::expected<T, E> acquire() {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      T instance = std::move(idle_.back());
      idle_.pop_back();
      ++hits_;
      return instance;
    }
    if (live_ >= max_instances_) {
      ++exhausted_;
      return std::unexpected(E::resource_limit(
          "pool at capacity (max_instances=" + std::to_string(max_instances_) + ")"));
    }
    auto built = factory_();
    if (built) {
      ++live_;
      ++misses_;
    }
    return built;
  }

  void release(T instance) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < max_instances_) {
      idle_.push_back(std::move(instance));
      return;
    }
    --live_;
  }

  // Destroys an instance and frees its slot.
  // The by-value parameter is the instance; it is destroyed on return.
  void discard(T /*instance*/) {
    std::lock_guard lock(mutex_);
    --live_;
  }

 private:
  MutexPool(std::size_t max_instances, Factory factory)
      : max_instances_(max_instances), factory_(std::move(factory)) {
    idle_.reserve(max_instances);
  }

  const std::size_t max_instances_;
  Factory factory_;
  std::mutex mutex_;
  std::vector<T> idle_;
  std::size_t live_ = 0;
  std::uint64_t hits_ = 0, misses_ = 0, exhausted_ = 0;
};

}  // namespace baselines
