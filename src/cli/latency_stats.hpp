// Latency samples and their percentiles, for `warmpool bench`.
//
//   LatencySamples s;
//   s.add(std::chrono::microseconds(120));
//   LatencySummary sum = summarize(std::move(s));
//   double p99_us = sum.percentile_us(99.0);
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace warmpool::cli {

// Nanosecond samples; each worker thread owns one and they are merged at the end.
class LatencySamples {
 public:
  void add(std::chrono::nanoseconds d) { ns_.push_back(static_cast<std::uint64_t>(d.count())); }
  void merge(LatencySamples&& other);
  std::size_t size() const { return ns_.size(); }

 private:
  friend class LatencySummary;
  std::vector<std::uint64_t> ns_;
};

class LatencySummary {
 public:
  explicit LatencySummary(LatencySamples samples);

  std::size_t count() const { return sorted_ns_.size(); }
  // Nearest-rank percentile, p in [0, 100]; 0 when there are no samples.
  double percentile_us(double p) const;
  double max_us() const { return percentile_us(100.0); }
  double mean_us() const;

 private:
  std::vector<std::uint64_t> sorted_ns_;
};

}  // namespace warmpool::cli
