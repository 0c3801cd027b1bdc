#include "http_metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "error_status.hpp"

namespace warmpool::cli {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Two pools' expositions become one: each family's HELP and TYPE once, its
// samples together, histograms' _bucket/_sum/_count lines kept with them.
TEST(HttpMetrics, MergedExpositionsGroupEachFamilyOnce) {
  const std::vector<std::string> texts = {
      "# HELP a_total A.\n# TYPE a_total counter\na_total{pool=\"x\"} 1\n"
      "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{pool=\"x\",le=\"1\"} 2\n"
      "h_seconds_sum{pool=\"x\"} 0.5\nh_seconds_count{pool=\"x\"} 2\n",
      "# HELP a_total A.\n# TYPE a_total counter\na_total{pool=\"y\"} 3\n"
      "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{pool=\"y\",le=\"1\"} 4\n"
      "h_seconds_sum{pool=\"y\"} 1\nh_seconds_count{pool=\"y\"} 4\n",
      "# HELP b B.\n# TYPE b gauge\nb 7\n"};
  EXPECT_EQ(merge_prometheus(texts),
            "# HELP a_total A.\n# TYPE a_total counter\na_total{pool=\"x\"} 1\n"
            "a_total{pool=\"y\"} 3\n"
            "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{pool=\"x\",le=\"1\"} 2\nh_seconds_sum{pool=\"x\"} 0.5\n"
            "h_seconds_count{pool=\"x\"} 2\nh_seconds_bucket{pool=\"y\",le=\"1\"} 4\n"
            "h_seconds_sum{pool=\"y\"} 1\nh_seconds_count{pool=\"y\"} 4\n"
            "# HELP b B.\n# TYPE b gauge\nb 7\n");
}

TEST(HttpMetrics, CountsAndCumulativeBuckets) {
  HttpMetrics m;
  m.record(200, microseconds(50));          // le 0.0001
  m.record(200, microseconds(700));         // le 0.001
  m.record(504, milliseconds(60));          // le 0.1
  m.record(504, std::chrono::seconds(20));  // +Inf only
  EXPECT_EQ(m.count(200), 2u);
  EXPECT_EQ(m.count(504), 2u);
  EXPECT_EQ(m.count(500), 0u);
  std::string text = m.to_prometheus();
  EXPECT_NE(text.find("warmpool_http_requests_total{status=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("warmpool_http_requests_total{status=\"504\"} 2\n"), std::string::npos);
  EXPECT_EQ(text.find("status=\"500\""), std::string::npos);
  EXPECT_NE(text.find("_bucket{status=\"200\",le=\"0.0001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{status=\"200\",le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{status=\"200\",le=\"0.001\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{status=\"504\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{status=\"504\",le=\"10\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{status=\"504\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("_count{status=\"504\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE warmpool_http_request_duration_seconds histogram"),
            std::string::npos);
}

TEST(HttpMetrics, ConcurrentRecordingLosesNothing) {
  HttpMetrics m;
  constexpr int kThreads = 4, kEach = 5000;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&m, t] {
        for (int i = 0; i < kEach; ++i) m.record(t % 2 ? 200u : 503u, microseconds(i));
      });
    }
  }
  EXPECT_EQ(m.count(200) + m.count(503), static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(m.count(200), static_cast<std::uint64_t>(kThreads / 2 * kEach));
}

TEST(ErrorStatus, KindsMapToDocumentedStatuses) {
  using wasm::ErrorKind;
  EXPECT_EQ(http_status_for(ErrorKind::trap), 500u);
  EXPECT_EQ(http_status_for(ErrorKind::memory_limit), 500u);
  EXPECT_EQ(http_status_for(ErrorKind::fuel_exhausted), 504u);
  EXPECT_EQ(http_status_for(ErrorKind::deadline), 504u);
  EXPECT_EQ(http_status_for(ErrorKind::resource_limit), 503u);
  auto r = error_response(wasm::WasmError::resource_limit("pool at capacity (max 2)"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body, "{\"error\":\"resource_limit\",\"message\":\"pool at capacity (max 2)\"}\n");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
}

}  // namespace
}  // namespace warmpool::cli
