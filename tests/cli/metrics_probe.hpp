// Test helper: reading `warmpool serve`'s GET /metrics (Prometheus text).
//
//   ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"spin\"}", 2));
//   EXPECT_EQ(metric(metrics_of(port), "warmpool_http_accept_errors_total"), 0);
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "http_client.hpp"

namespace warmpool::cli::test {

// The value of one sample line ("name{labels} value") in Prometheus text; -1 if absent.
inline double metric(const std::string& text, const std::string& series) {
  const std::string needle = series + " ";
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + needle.size()));
  }
  return -1;
}

// The body of GET /metrics; empty when the server does not answer 200.
inline std::string metrics_of(std::uint16_t port) {
  HttpClient c(port, std::chrono::seconds(5));
  auto r = c.request("GET", "/metrics");
  return r && r->status == 200 ? r->body : std::string();
}

// Polls /metrics until `series` has `value` (or `limit` passes).
inline bool wait_for_metric(std::uint16_t port, const std::string& series, double value,
                            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  for (auto deadline = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
    if (metric(metrics_of(port), series) == value) return true;
  }
  return false;
}

}  // namespace warmpool::cli::test
