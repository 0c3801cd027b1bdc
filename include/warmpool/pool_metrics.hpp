// warmpool/pool_metrics.hpp — counters, gauges and latency histograms of one pool.
//
// `InstancePool::metrics()` returns a `std::shared_ptr<const PoolMetrics>`:
// the values are live (every read sees the pool's current state) and the
// handle stays valid after the pool is gone. Counting is built to stay off the
// hit path's critical resources: hits and returns go to a per-thread shard and
// are summed on read (idle and in_use are derived from them plus slow-path
// adjustments); everything else changes only on slow paths (a build, a
// destruction, a wait).
//
//   auto m = pool.metrics();
//   std::cout << m->hits() << " hits, " << m->live() << " live\n";
//   std::cout << m->to_prometheus("fib");   // text exposition format
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "warmpool/internal/metric_shard.hpp"
#include "warmpool/internal/prometheus_text.hpp"
#include "warmpool/latency_histogram.hpp"

namespace warmpool {

namespace internal {
template <class T, class E, class L>
class PoolCore;
}  // namespace internal

class PoolMetrics {
 public:
  PoolMetrics() { fallback_.shared = true; }
  PoolMetrics(const PoolMetrics&) = delete;
  PoolMetrics& operator=(const PoolMetrics&) = delete;
  ~PoolMetrics() {
    for (internal::MetricShard* s = shards_.load(std::memory_order_acquire); s != nullptr;) {
      internal::MetricShard* next = s->next;
      delete s;
      s = next;
    }
  }

  // Acquires served from an idle instance (handing out a Fresh spare is a hit).
  std::uint64_t hits() const noexcept {
    std::uint64_t n = 0;
    for_each_shard(
        [&](const internal::MetricShard& s) { n += s.hits.load(std::memory_order_relaxed); });
    return n;
  }
  // Acquires that built an instance on the caller's thread.
  std::uint64_t misses() const noexcept { return load(misses_); }
  // Acquires refused at capacity, including waits that timed out.
  std::uint64_t exhausted() const noexcept { return load(exhausted_); }
  // Reserved capacity: idle + in use + being built (or destroyed). Exact at all times and
  // never above max_instances.
  std::uint64_t live() const noexcept { return load(live_); }
  // Ready instances.
  std::uint64_t idle() const noexcept {
    return clamp(idle_adjust_.load(std::memory_order_relaxed) - hits_minus_returns());
  }
  // Instances handed out and not yet returned.
  std::uint64_t in_use() const noexcept {
    return clamp(in_use_adjust_.load(std::memory_order_relaxed) + hits_minus_returns());
  }
  // Builds in flight (by callers or refill threads).
  std::uint64_t building() const noexcept { return load(building_); }
  std::uint64_t created() const noexcept { return load(created_); }
  std::uint64_t destroyed() const noexcept { return load(destroyed_); }
  // Factory errors and exceptions, from callers and from refill.
  std::uint64_t factory_failures() const noexcept { return load(factory_failures_); }
  // Idle instances destroyed by the reaper (idle timeout or lifetime).
  std::uint64_t reaped() const noexcept { return load(reaped_); }
  // Instances destroyed as broken: discard(), unhealthy on release, failed reset.
  std::uint64_t discarded() const noexcept { return load(discarded_); }
  // Acquires that had to wait (for a release, a refill or an in-flight build).
  std::uint64_t waits() const noexcept { return load(waits_); }
  std::uint64_t wait_timeouts() const noexcept { return load(wait_timeouts_); }

  // Time spent waiting by acquires that waited.
  const LatencyHistogram& acquire_wait() const noexcept { return acquire_wait_; }
  // Time the factory took, per build (successful or not).
  const LatencyHistogram& factory_build() const noexcept { return factory_build_; }

  // Prometheus text exposition format (version 0.0.4); every series carries
  // the label pool="<pool_name>".
  std::string to_prometheus(std::string pool_name) const;

 private:
  template <class T, class E, class L>
  friend class internal::PoolCore;

  static std::uint64_t load(const std::atomic<std::uint64_t>& a) noexcept {
    return a.load(std::memory_order_relaxed);
  }
  static std::uint64_t clamp(std::int64_t v) noexcept {
    return v < 0 ? 0 : static_cast<std::uint64_t>(v);
  }
  // Every shard, the fallback one included: what the sums over shards read.
  template <class F>
  void for_each_shard(F&& f) const {
    f(fallback_);
    for (const internal::MetricShard* s = shards_.load(std::memory_order_acquire); s != nullptr;
         s = s->next) {
      f(*s);
    }
  }
  // Hits not yet matched by a return: the hot path's net move from idle to in use.
  std::int64_t hits_minus_returns() const noexcept {
    auto net = [](const internal::MetricShard& s) {
      return static_cast<std::int64_t>(s.hits.load(std::memory_order_relaxed) -
                                       s.returns.load(std::memory_order_relaxed));
    };
    std::int64_t n = 0;
    for_each_shard([&](const internal::MetricShard& s) { n += net(s); });
    return n;
  }

  // Fresh spares ready, as refill and the reaper count them: placed minus handed
  // out, from the hit counts threads publish (MetricShard::publish_hits).
  // A hit published late reads as a spare still there until its publisher's
  // next store; refill's next look catches up. Fresh only: no returns.
  std::int64_t fresh_spares() const noexcept {
    std::int64_t n = idle_adjust_.load(std::memory_order_relaxed);
    for_each_shard([&](const internal::MetricShard& s) {
      n -= static_cast<std::int64_t>(s.hits_published.load(std::memory_order_relaxed));
    });
    return n;
  }

  // A shard for the calling thread: a released one if any, else a new one.
  internal::MetricShard* claim_shard() {
    for (internal::MetricShard* s = shards_.load(std::memory_order_acquire); s != nullptr;
         s = s->next) {
      bool expected = false;
      if (!s->owned.load(std::memory_order_relaxed) &&
          s->owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
        return s;
      }
    }
    auto* s = new internal::MetricShard;
    s->owned.store(true, std::memory_order_relaxed);
    s->next = shards_.load(std::memory_order_relaxed);
    while (!shards_.compare_exchange_weak(s->next, s, std::memory_order_release,
                                          std::memory_order_relaxed)) {
    }
    return s;
  }

  void adjust_idle(std::int64_t d) noexcept {
    idle_adjust_.fetch_add(d, std::memory_order_relaxed);
  }
  void adjust_in_use(std::int64_t d) noexcept {
    in_use_adjust_.fetch_add(d, std::memory_order_relaxed);
  }
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) noexcept {
    a.fetch_add(n, std::memory_order_relaxed);
  }

  // The capacity counter itself (not a copy): only slow paths change it.
  alignas(internal::kNoFalseSharing) std::atomic<std::uint64_t> live_{0};
  std::atomic<std::uint64_t> building_{0};

  alignas(internal::kNoFalseSharing) std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> exhausted_{0};
  std::atomic<std::uint64_t> created_{0};
  std::atomic<std::uint64_t> destroyed_{0};
  std::atomic<std::uint64_t> factory_failures_{0};
  std::atomic<std::uint64_t> reaped_{0};
  std::atomic<std::uint64_t> discarded_{0};
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<std::uint64_t> wait_timeouts_{0};
  std::atomic<std::int64_t> idle_adjust_{0};
  std::atomic<std::int64_t> in_use_adjust_{0};

  std::atomic<internal::MetricShard*> shards_{nullptr};
  internal::MetricShard fallback_;
  LatencyHistogram acquire_wait_;
  LatencyHistogram factory_build_;
};

inline std::string PoolMetrics::to_prometheus(std::string pool_name) const {
  internal::PrometheusText out("warmpool_", std::move(pool_name));
  out.counter("hits", "Acquires served from an idle instance.", hits());
  out.counter("misses", "Acquires that built an instance on the caller's thread.", misses());
  out.counter("exhausted", "Acquires refused at capacity, including timed-out waits.", exhausted());
  out.counter("created", "Instances built.", created());
  out.counter("destroyed", "Instances destroyed.", destroyed());
  out.counter("factory_failures", "Factory errors and exceptions.", factory_failures());
  out.counter("reaped", "Idle instances destroyed by the reaper.", reaped());
  out.counter("discarded", "Instances destroyed as broken.", discarded());
  out.counter("waits", "Acquires that waited.", waits());
  out.counter("wait_timeouts", "Waits that timed out.", wait_timeouts());
  out.gauge("live", "Reserved capacity: idle + in use + being built or destroyed.", live());
  out.gauge("idle", "Ready instances.", idle());
  out.gauge("in_use", "Instances handed out.", in_use());
  out.gauge("building", "Builds in flight.", building());
  out.histogram("acquire_wait_seconds", "Time acquires spent waiting.", acquire_wait_);
  out.histogram("factory_build_seconds", "Time the factory took per build.", factory_build_);
  return std::move(out).str();
}

}  // namespace warmpool
