#include "latency_stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace warmpool::cli {
namespace {

using std::chrono::microseconds;

TEST(LatencyStats, NearestRankPercentiles) {
  // 1..1000 µs in shuffled order, split across two "threads".
  std::vector<int> values(1000);
  for (int i = 0; i < 1000; ++i) values[static_cast<std::size_t>(i)] = i + 1;
  std::ranges::shuffle(values, std::mt19937(42));
  LatencySamples a, b;
  for (std::size_t i = 0; i < values.size(); ++i) {
    (i % 2 ? a : b).add(microseconds(values[i]));
  }
  a.merge(std::move(b));
  EXPECT_EQ(a.size(), 1000u);
  LatencySummary s(std::move(a));
  EXPECT_EQ(s.count(), 1000u);
  EXPECT_DOUBLE_EQ(s.percentile_us(0), 1);
  EXPECT_DOUBLE_EQ(s.percentile_us(50), 500);
  EXPECT_DOUBLE_EQ(s.percentile_us(90), 900);
  EXPECT_DOUBLE_EQ(s.percentile_us(99), 990);
  EXPECT_DOUBLE_EQ(s.percentile_us(99.9), 999);
  EXPECT_DOUBLE_EQ(s.max_us(), 1000);
  EXPECT_DOUBLE_EQ(s.mean_us(), 500.5);
}

TEST(LatencyStats, SmallAndEmpty) {
  LatencySummary empty{LatencySamples{}};
  EXPECT_EQ(empty.percentile_us(50), 0);
  EXPECT_EQ(empty.mean_us(), 0);
  LatencySamples one;
  one.add(microseconds(7));
  LatencySummary s(std::move(one));
  EXPECT_DOUBLE_EQ(s.percentile_us(0), 7);
  EXPECT_DOUBLE_EQ(s.percentile_us(99.9), 7);
}

}  // namespace
}  // namespace warmpool::cli
