#include "load_driver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace warmpool::cli {
namespace {

using namespace std::chrono_literals;

TEST(LoadDriver, ClosedLoopRunsExactlyTheCallsAcrossThreads) {
  std::atomic<int> calls{0};
  std::mutex m;
  std::set<std::size_t> threads_seen;
  LoadResult r = drive_load(
      {.threads = 3, .calls = 300},
      [&](std::size_t t) -> std::optional<std::string> {
        {
          std::lock_guard lock(m);
          threads_seen.insert(t);
        }
        std::this_thread::sleep_for(100us);
        return ++calls % 100 == 0 ? std::optional<std::string>("boom") : std::nullopt;
      },
      "test");
  EXPECT_EQ(calls.load(), 300);
  EXPECT_EQ(r.ok, 297u);
  EXPECT_EQ(r.failed, 3u);
  EXPECT_EQ(r.latencies.size(), 297u);
  EXPECT_EQ(r.first_error, "boom");
  EXPECT_EQ(threads_seen.size(), 3u);
}

TEST(LoadDriver, DurationBoundsTheRun) {
  LoadResult r = drive_load(
      {.threads = 2, .duration = 200ms},
      [](std::size_t) -> std::optional<std::string> {
        std::this_thread::sleep_for(1ms);
        return std::nullopt;
      },
      "test");
  EXPECT_GT(r.ok, 10u);
  EXPECT_GE(r.seconds, 0.2);
  EXPECT_LT(r.seconds, 5.0);  // liveness guard only
}

// A server that takes 10 ms per call, offered one call every 5 ms: the
// queue grows, and open-loop latency (from the scheduled arrival) shows it,
// where closed-loop latency would stay at 10 ms.
TEST(LoadDriver, OpenLoopCountsQueueingFromTheScheduledArrival) {
  auto slow = [](std::size_t) -> std::optional<std::string> {
    std::this_thread::sleep_for(10ms);
    return std::nullopt;
  };
  LoadResult open = drive_load({.threads = 1, .calls = 20, .rate = 200}, slow, "open");
  LatencySummary o(std::move(open.latencies));
  LoadResult closed = drive_load({.threads = 1, .calls = 20}, slow, "closed");
  LatencySummary c(std::move(closed.latencies));
  // The 20th call is scheduled at 95 ms but starts after 19 calls of >= 10 ms.
  EXPECT_GE(o.max_us(), 90'000);
  EXPECT_LT(c.percentile_us(50), 60'000);
}

TEST(LoadDriver, OpenLoopKeepsTheRate) {
  LoadResult r = drive_load(
      {.threads = 2, .calls = 50, .rate = 500},
      [](std::size_t) -> std::optional<std::string> { return std::nullopt; }, "rate");
  // 50 arrivals at 500/s span 98 ms; a closed loop would finish at once.
  EXPECT_GE(r.seconds, 0.09);
  EXPECT_EQ(r.ok, 50u);
}

}  // namespace
}  // namespace warmpool::cli
