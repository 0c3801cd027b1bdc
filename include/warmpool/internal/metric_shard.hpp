// warmpool/internal/metric_shard.hpp — implementation detail of PoolMetrics.
//
// The counters a thread changes on the hit path live in a cache line of their
// own that only that thread writes, so counting costs a plain load and store
// on a line the thread already holds (no locked instruction, no line shared
// with another core). Readers sum all shards.
#pragma once

#include <atomic>
#include <cstdint>

namespace warmpool::internal {

struct alignas(64) MetricShard {
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::int64_t> idle{0};
  std::atomic<std::int64_t> in_use{0};
  // Claimed by one thread at a time; ownership moves with acquire/release so a
  // new owner continues from the previous owner's totals.
  std::atomic<bool> owned{false};
  // The fallback shard is written by many threads (those past their
  // thread-local destructors) and therefore uses read-modify-write.
  bool shared = false;
  MetricShard* next = nullptr;  // registry list; immutable once published

  // An idle instance handed out.
  void hit() noexcept {
    if (shared) [[unlikely]] {
      hits.fetch_add(1, std::memory_order_relaxed);
      idle.fetch_sub(1, std::memory_order_relaxed);
      in_use.fetch_add(1, std::memory_order_relaxed);
    } else {
      bump(hits, std::uint64_t{1});
      bump(idle, std::int64_t{-1});
      bump(in_use, std::int64_t{1});
    }
  }
  // An in-use instance back in the idle set.
  void returned() noexcept {
    if (shared) [[unlikely]] {
      idle.fetch_add(1, std::memory_order_relaxed);
      in_use.fetch_sub(1, std::memory_order_relaxed);
    } else {
      bump(idle, std::int64_t{1});
      bump(in_use, std::int64_t{-1});
    }
  }

  template <class V>
  static void bump(std::atomic<V>& counter, V delta) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }

  template <class V>
  void add(std::atomic<V>& counter, V delta) noexcept {
    if (shared) {
      counter.fetch_add(delta, std::memory_order_relaxed);
    } else {
      counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
    }
  }
};

}  // namespace warmpool::internal
