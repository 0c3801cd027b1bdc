#include "latency_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace warmpool::cli {

void LatencySamples::merge(LatencySamples&& other) {
  ns_.insert(ns_.end(), other.ns_.begin(), other.ns_.end());
  other.ns_.clear();
}

LatencySummary::LatencySummary(LatencySamples samples) : sorted_ns_(std::move(samples.ns_)) {
  std::ranges::sort(sorted_ns_);
}

double LatencySummary::percentile_us(double p) const {
  if (sorted_ns_.empty()) return 0.0;
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest sample with at least p% of samples at or below it.
  // The epsilon keeps 99.9% of 1000 at rank 999 despite 99.9 not being exact in binary.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(count()) / 100.0 - 1e-9));
  std::size_t index = rank == 0 ? 0 : rank - 1;
  return static_cast<double>(sorted_ns_[std::min(index, count() - 1)]) / 1000.0;
}

double LatencySummary::mean_us() const {
  if (sorted_ns_.empty()) return 0.0;
  long double sum = std::accumulate(sorted_ns_.begin(), sorted_ns_.end(), 0.0L);
  return static_cast<double>(sum / static_cast<long double>(count()) / 1000.0L);
}

}  // namespace warmpool::cli
