// warmpool/latency_histogram.hpp — a fixed-bucket latency histogram, safe to
// record into from many threads and to read at any time.
//
// Buckets are the same for every histogram (1-2-5 steps from 1 µs to 10 s plus
// an overflow bucket), so histograms from different pools and runs add up and
// map one to one onto Prometheus `_bucket{le=...}` series.
//
//   const warmpool::LatencyHistogram& h = pool.metrics()->factory_build();
//   std::cout << h.count() << " builds, p99 <= " << h.percentile(0.99).count() << " ns\n";
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace warmpool {

class LatencyHistogram {
 public:
  // Inclusive upper bounds of the finite buckets; bucket kBounds.size() is +Inf.
  static constexpr std::array<std::int64_t, 22> kBoundsNs = {
      1'000,         2'000,         5'000,         10'000,        20'000,      50'000,
      100'000,       200'000,       500'000,       1'000'000,     2'000'000,   5'000'000,
      10'000'000,    20'000'000,    50'000'000,    100'000'000,   200'000'000, 500'000'000,
      1'000'000'000, 2'000'000'000, 5'000'000'000, 10'000'000'000};
  static constexpr std::size_t kBuckets = kBoundsNs.size() + 1;

  void record(std::chrono::nanoseconds d) noexcept {
    const std::int64_t ns = d.count() < 0 ? 0 : d.count();
    std::size_t i = 0;
    while (i < kBoundsNs.size() && ns > kBoundsNs[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::chrono::nanoseconds sum() const noexcept {
    return std::chrono::nanoseconds{
        static_cast<std::int64_t>(sum_ns_.load(std::memory_order_relaxed))};
  }
  // Observations in bucket `i` alone (not cumulative); i == kBuckets - 1 is +Inf.
  std::uint64_t bucket(std::size_t i) const noexcept {
    return i < kBuckets ? buckets_[i].load(std::memory_order_relaxed) : 0;
  }
  // Upper bound of the bucket holding quantile q (0..1); the overflow bucket
  // reports the largest finite bound. Zero when empty.
  std::chrono::nanoseconds percentile(double q) const noexcept {
    std::array<std::uint64_t, kBuckets> snap{};
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) total += snap[i] = bucket(i);
    if (total == 0) return std::chrono::nanoseconds{0};
    const double clamped = q < 0 ? 0 : (q > 1 ? 1 : q);
    auto rank = static_cast<std::uint64_t>(clamped * static_cast<double>(total));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBoundsNs.size(); ++i) {
      seen += snap[i];
      if (seen >= rank) return std::chrono::nanoseconds{kBoundsNs[i]};
    }
    return std::chrono::nanoseconds{kBoundsNs.back()};
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace warmpool
