// HTTP request counters and latency histograms by status code, for
// `warmpool serve`'s GET /metrics (Prometheus text exposition 0.0.4).
// Recording is lock-free; reading sums relaxed atomics.
//
//   HttpMetrics m;
//   m.record(200, std::chrono::microseconds(180));
//   std::string text = m.to_prometheus();
//   // warmpool_http_requests_total{status="200"} 1
//   // warmpool_http_request_duration_seconds_bucket{status="200",le="0.00025"} 1 ...
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "http_server.hpp"

namespace warmpool::cli {

class HttpMetrics {
 public:
  // Upper bounds of the histogram buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 16> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                      1,      2.5,     5,      10};

  void record(unsigned status, std::chrono::nanoseconds elapsed);
  std::uint64_t count(unsigned status) const;
  std::string to_prometheus() const;

 private:
  static constexpr unsigned kFirstStatus = 100, kLastStatus = 599;
  struct PerStatus {
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
    std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{};  // non-cumulative
  };
  std::array<PerStatus, kLastStatus - kFirstStatus + 1> by_status_{};
};

// The server's connection counters (accepted, open, over the cap, accept
// errors, shed for want of a descriptor, timed out) as Prometheus text.
std::string to_prometheus(const HttpServerStats& stats);

// Several expositions as one: the text format wants each metric's HELP and
// TYPE once and all its samples together, however many pools report it.
// Families keep the order of their first appearance.
std::string merge_prometheus(std::span<const std::string> texts);

}  // namespace warmpool::cli
