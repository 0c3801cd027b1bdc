// warmpool/internal/metric_shard.hpp — implementation detail of PoolMetrics.
//
// The two counters a thread changes on the hit path (hits, and returns to the
// idle set) live in a cache line of their own that only that thread writes,
// so counting costs a plain load and store on a line the thread already holds
// (no locked instruction, no line shared with another core). idle and in_use
// are not counted separately: both follow from hits - returns plus the slow
// paths' adjustments (PoolMetrics). Readers sum all shards.
#pragma once

#include <atomic>
#include <cstdint>

namespace warmpool::internal {

struct alignas(64) MetricShard {
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> returns{0};
  // The owner thread's busy flag for owner windows (slot.hpp): on this line
  // because only the owner writes it and it is written with the counters.
  std::atomic<std::uint32_t> busy{0};
  // Claimed by one thread at a time; ownership moves with acquire/release so a
  // new owner continues from the previous owner's totals.
  std::atomic<bool> owned{false};
  // The fallback shard is written by many threads (those past their
  // thread-local destructors) and therefore uses read-modify-write. Only slow
  // paths can reach it; the hit path calls the plain `*_owned` versions.
  bool shared = false;
  MetricShard* next = nullptr;  // registry list; immutable once published

  // An idle instance handed out, by the shard's owner thread.
  [[gnu::always_inline]] void hit_owned() noexcept { bump(hits); }
  // An in-use instance back in the idle set, by the shard's owner thread.
  [[gnu::always_inline]] void returned_owned() noexcept { bump(returns); }

  void hit() noexcept { add(hits); }
  void returned() noexcept { add(returns); }

  [[gnu::always_inline]] static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void add(std::atomic<std::uint64_t>& counter) noexcept {
    if (shared) {
      counter.fetch_add(1, std::memory_order_relaxed);
    } else {
      bump(counter);
    }
  }
};

}  // namespace warmpool::internal
