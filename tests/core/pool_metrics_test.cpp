// PoolMetrics: the handle outlives the pool, histograms, and the Prometheus
// text format.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "test_support.hpp"

namespace warmpool::test {
namespace {

TEST(PoolMetrics, HandleStaysValidAfterThePoolIsGone) {
  Fixture f;
  std::shared_ptr<const PoolMetrics> m;
  {
    auto pool = Pool::create(config(2, 2), f.factory());
    m = pool->metrics();
    auto a = pool->acquire();
    pool->release(std::move(*a));
  }
  EXPECT_EQ(m->hits(), 1u);
  EXPECT_EQ(m->created(), 2u);
  EXPECT_EQ(m->destroyed(), 2u);
  EXPECT_EQ(m->live(), 0u);
  EXPECT_EQ(m->idle(), 0u);
}

TEST(PoolMetrics, FactoryBuildHistogramCountsEveryBuild) {
  Fixture f;
  auto pool =
      Pool::create(config(3, 1), f.factory(/*fail_every=*/3, 0, std::chrono::microseconds{200}));
  auto a = pool->acquire();
  auto b = pool->acquire();  // miss
  auto c = pool->acquire();  // miss, fails (3rd call)
  EXPECT_FALSE(c.has_value());
  const LatencyHistogram& h = pool->metrics()->factory_build();
  EXPECT_EQ(h.count(), 3u);
  EXPECT_GE(h.sum(), std::chrono::microseconds{600});
  std::uint64_t in_buckets = 0;
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) in_buckets += h.bucket(i);
  EXPECT_EQ(in_buckets, 3u);
  EXPECT_EQ(h.bucket(0), 0u);  // nothing under 1 µs: every build slept 200 µs
  EXPECT_GE(h.percentile(0.5), std::chrono::microseconds{200});
  pool->release(std::move(*a));
  pool->release(std::move(*b));
}

TEST(PoolMetrics, HistogramBucketsAreOneTwoFiveFromOneMicrosecondToTenSeconds) {
  LatencyHistogram h;
  h.record(std::chrono::nanoseconds{500});
  h.record(std::chrono::microseconds{1});
  h.record(std::chrono::microseconds{3});
  h.record(std::chrono::seconds{11});
  EXPECT_EQ(LatencyHistogram::kBoundsNs.front(), 1'000);
  EXPECT_EQ(LatencyHistogram::kBoundsNs.back(), 10'000'000'000);
  EXPECT_EQ(h.bucket(0), 2u);                               // <= 1 µs
  EXPECT_EQ(h.bucket(2), 1u);                               // (2, 5] µs
  EXPECT_EQ(h.bucket(LatencyHistogram::kBuckets - 1), 1u);  // +Inf
  EXPECT_EQ(h.count(), 4u);
}

TEST(PoolMetrics, PrometheusTextExposition) {
  Fixture f;
  auto pool = Pool::create(config(2, 1), f.factory());
  auto a = pool->acquire();
  auto b = pool->acquire();
  auto c = pool->acquire();  // exhausted
  const std::string text = pool->metrics()->to_prometheus("fib \"v1\"");
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("# TYPE warmpool_hits_total counter")) << text;
  EXPECT_TRUE(has("warmpool_hits_total{pool=\"fib \\\"v1\\\"\"} 1")) << text;
  EXPECT_TRUE(has("warmpool_misses_total{pool=\"fib \\\"v1\\\"\"} 1"));
  EXPECT_TRUE(has("warmpool_exhausted_total{pool=\"fib \\\"v1\\\"\"} 1"));
  EXPECT_TRUE(has("# TYPE warmpool_live gauge"));
  EXPECT_TRUE(has("warmpool_live{pool=\"fib \\\"v1\\\"\"} 2"));
  EXPECT_TRUE(has("warmpool_in_use{pool=\"fib \\\"v1\\\"\"} 2"));
  EXPECT_TRUE(has("# TYPE warmpool_factory_build_seconds histogram"));
  EXPECT_TRUE(
      has("warmpool_factory_build_seconds_bucket{pool=\"fib \\\"v1\\\"\",le=\"0.000001\"} 0") ||
      has("warmpool_factory_build_seconds_bucket{pool=\"fib \\\"v1\\\"\",le=\"0.000001\"} 1") ||
      has("warmpool_factory_build_seconds_bucket{pool=\"fib \\\"v1\\\"\",le=\"0.000001\"} 2"));
  EXPECT_TRUE(has("warmpool_factory_build_seconds_bucket{pool=\"fib \\\"v1\\\"\",le=\"10\"} 2"));
  EXPECT_TRUE(has("warmpool_factory_build_seconds_bucket{pool=\"fib \\\"v1\\\"\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(has("warmpool_factory_build_seconds_count{pool=\"fib \\\"v1\\\"\"} 2"));
  EXPECT_NE(text.find("warmpool_factory_build_seconds_sum{pool="), std::string::npos);
  EXPECT_TRUE(has("# TYPE warmpool_acquire_wait_seconds histogram"));
  // Every sample line is "name{labels} value"; every family has HELP and TYPE.
  std::istringstream in(text);
  std::string line;
  int help = 0, type = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0)
      ++help;
    else if (line.rfind("# TYPE ", 0) == 0)
      ++type;
    else
      EXPECT_NE(line.find("} "), std::string::npos) << line;
  }
  EXPECT_EQ(help, type);
  EXPECT_EQ(help, 16);
  pool->release(std::move(*a));
  pool->release(std::move(*b));
}

}  // namespace
}  // namespace warmpool::test
