// bench/baselines/seed_pool.hpp — the seed's InstancePool design re-expressed in
// C++ as a benchmark baseline (not used by the library).
//
// The seed is the Rust `InstancePool<T, E>` of uni-plugin-wasm-rt 2.0. Its
// documented design, kept here on purpose, hot-path costs included:
//   - idle instances live in a bounded lock-free MPMC array queue
//     (crossbeam ArrayQueue; see mpmc_array_queue.hpp) sized max_instances;
//   - the factory sits behind a std::mutex, so cold builds are serialised;
//   - metrics are sequentially consistent atomics in one shared object
//     (Arc<PoolMetrics>), bumped by every thread;
//   - `live` is reserved with a CAS loop before building, so the cap holds.
// Only the counters the seed's Debug output needs (hits, misses, exhausted,
// plus created/destroyed on the cold path) are kept: one shared RMW per hit,
// which if anything flatters the seed.
//
//   auto pool = baselines::SeedPool<Handle, Err>::create(8, 8, make_handle);
//   auto inst = pool->acquire();          // std::expected<Handle, Err>
//   pool->release(std::move(*inst));
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "mpmc_array_queue.hpp"

namespace baselines {

struct SeedMetrics {
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> exhausted{0};
  std::atomic<std::uint64_t> created{0};
  std::atomic<std::uint64_t> destroyed{0};
};

template <class T, class E>
class SeedPool {
 public:
  using Factory = std::function<std::expected<T, E>()>;

  static std::expected<std::unique_ptr<SeedPool>, E> create(std::size_t max_instances,
                                                            std::size_t warm_count,
                                                            Factory factory) {
    std::unique_ptr<SeedPool> pool(new SeedPool(max_instances, std::move(factory)));
    const std::size_t warm = warm_count < max_instances ? warm_count : max_instances;
    for (std::size_t i = 0; i < warm; ++i) {
      auto built = pool->acquire_cold();
      if (!built) return std::unexpected(std::move(built.error()));
      pool->release(std::move(*built));
    }
    return pool;
  }

  std::expected<T, E> acquire() {
    if (std::optional<T> idle = idle_.pop()) {
      metrics_->hits.fetch_add(1, std::memory_order_seq_cst);
      return std::move(*idle);
    }
    return acquire_cold();
  }

  void release(T instance) {
    if (!idle_.push(instance)) discard(std::move(instance));
  }

  // The seed's overflow path of release(): drop the instance, free its slot.
  // The by-value parameter is the instance; it is destroyed on return.
  void discard(T /*instance*/) {
    metrics_->destroyed.fetch_add(1, std::memory_order_seq_cst);
    live_.fetch_sub(1, std::memory_order_seq_cst);
  }

  const SeedMetrics& metrics() const { return *metrics_; }
  std::size_t live() const { return live_.load(std::memory_order_seq_cst); }
  std::size_t idle() const { return idle_.size(); }

 private:
  SeedPool(std::size_t max_instances, Factory factory)
      : max_instances_(max_instances), idle_(max_instances), factory_(std::move(factory)) {}

  std::expected<T, E> acquire_cold() {
    std::size_t live = live_.load(std::memory_order_seq_cst);
    do {
      if (live >= max_instances_) {
        metrics_->exhausted.fetch_add(1, std::memory_order_seq_cst);
        return std::unexpected(E::resource_limit(
            "pool at capacity (max_instances=" + std::to_string(max_instances_) + ")"));
      }
    } while (!live_.compare_exchange_weak(live, live + 1, std::memory_order_seq_cst));
    metrics_->misses.fetch_add(1, std::memory_order_seq_cst);
    std::expected<T, E> built = [&] {
      std::lock_guard lock(factory_mutex_);
      return factory_();
    }();
    if (!built) {
      live_.fetch_sub(1, std::memory_order_seq_cst);
      return built;
    }
    metrics_->created.fetch_add(1, std::memory_order_seq_cst);
    return built;
  }

  const std::size_t max_instances_;
  MpmcArrayQueue<T> idle_;
  std::mutex factory_mutex_;
  Factory factory_;
  std::shared_ptr<SeedMetrics> metrics_ = std::make_shared<SeedMetrics>();
  std::atomic<std::size_t> live_{0};
};

}  // namespace baselines
