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

#include "warmpool/internal/false_sharing.hpp"

namespace warmpool::internal {

struct alignas(kNoFalseSharing) MetricShard {
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
  // Read by whoever sums the shards, so not on the owner's line above.
  alignas(kNoFalseSharing) std::atomic<std::uint64_t> hits_published{0};
  MetricShard* next = nullptr;  // registry list; immutable once published

  // An idle instance handed out, by the shard's owner thread.
  [[gnu::always_inline]] void hit_owned() noexcept { bump(hits); }
  // An in-use instance back in the idle set, by the shard's owner thread.
  [[gnu::always_inline]] void returned_owned() noexcept { bump(returns); }

  // Fresh: `hits` copied to a line of its own for refill threads, which
  // count spares from it (PoolMetrics::fresh_spares). They never read the
  // line above, so the owner's next hit finds it in its cache; the owner only
  // stores here, and a store does not wait for the line.
  void publish_hits() noexcept {
    if (!shared) {
      hits_published.store(hits.load(std::memory_order_relaxed), std::memory_order_relaxed);
      return;
    }
    const std::uint64_t now = hits.load(std::memory_order_relaxed);
    std::uint64_t seen = hits_published.load(std::memory_order_relaxed);
    while (seen < now &&
           !hits_published.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }

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
