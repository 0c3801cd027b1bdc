// The deadline watchdog: one thread raising per-call flags and running
// callbacks. Time bounds here are generous liveness guards only.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "wasm/common/watchdog.hpp"

namespace warmpool::wasm::internal {
namespace {

using namespace std::chrono_literals;

bool wait_for(const DeadlineTimer& timer, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!timer.expired()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(Watchdog, RaisesTheFlagAndRunsTheCallbackAfterTheDeadline) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  DeadlineTimer timer([&] { ++fired; }, watchdog);
  const auto start = std::chrono::steady_clock::now();
  timer.arm(20ms);
  const bool expired_at_once = timer.expired();
  // Only a look taken before the deadline proves anything (a loaded machine,
  // or TSan, can spend the 20 ms right here).
  if (std::chrono::steady_clock::now() - start < 20ms) {
    EXPECT_FALSE(expired_at_once);
  }
  ASSERT_TRUE(wait_for(timer, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_EQ(fired.load(), 1);
}

TEST(Watchdog, ExpireAllEndsEveryArmedTimerNowAndNoOther) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  DeadlineTimer first([&] { ++fired; }, watchdog), second([&] { ++fired; }, watchdog);
  DeadlineTimer disarmed([&] { fired += 100; }, watchdog);
  first.arm(1h);
  second.arm(2h);
  disarmed.arm(1h);
  disarmed.disarm();
  EXPECT_EQ(watchdog.expire_all(), 2u);
  EXPECT_TRUE(first.expired());
  EXPECT_TRUE(second.expired());
  EXPECT_FALSE(disarmed.expired());
  EXPECT_EQ(fired.load(), 2);
  EXPECT_EQ(watchdog.expire_all(), 0u);  // nothing is armed any more
  first.arm(1h);                         // a later arming is a new deadline
  EXPECT_FALSE(first.expired());
}

TEST(Watchdog, DisarmedTimersNeverFire) {
  Watchdog watchdog;
  std::atomic<int> fired{0};
  DeadlineTimer timer([&] { ++fired; }, watchdog);
  // The case under test is a disarm before the deadline; a loaded machine
  // (or TSan) can spend the 30 ms between the two calls, so try again then.
  for (int attempt = 0; attempt < 100; ++attempt) {
    fired = 0;
    const auto armed = std::chrono::steady_clock::now();
    timer.arm(30ms);
    timer.disarm();
    if (std::chrono::steady_clock::now() - armed < 30ms) break;
  }
  DeadlineTimer witness({}, watchdog);  // proves the watchdog ran past that deadline
  witness.arm(60ms);
  ASSERT_TRUE(wait_for(witness, 5s));
  EXPECT_FALSE(timer.expired());
  EXPECT_EQ(fired.load(), 0);
}

TEST(Watchdog, RearmingClearsTheFlagAndReplacesTheDeadline) {
  Watchdog watchdog;
  DeadlineTimer timer({}, watchdog);
  timer.arm(1ms);
  ASSERT_TRUE(wait_for(timer, 5s));
  timer.arm(1h);
  EXPECT_FALSE(timer.expired());
  timer.arm(1ms);
  EXPECT_TRUE(wait_for(timer, 5s));
}

TEST(Watchdog, AnEarlierDeadlineWakesTheThread) {
  Watchdog watchdog;
  DeadlineTimer late({}, watchdog);
  DeadlineTimer early({}, watchdog);
  late.arm(1h);  // the thread now sleeps for an hour...
  early.arm(10ms);
  EXPECT_TRUE(wait_for(early, 5s));  // ...unless arming `early` woke it
  EXPECT_FALSE(late.expired());
}

// The thread is not woken for a deadline later than the one it sleeps until
// (one call's timer after another's), so it must still be woken for an
// earlier one after the timer it slept for was disarmed.
TEST(Watchdog, AnEarlierDeadlineWakesTheThreadAfterTheLaterOneWasDisarmed) {
  Watchdog watchdog;
  DeadlineTimer timer({}, watchdog);
  timer.arm(1h);
  std::this_thread::sleep_for(20ms);  // the thread sleeps until the hour is up
  timer.disarm();
  timer.arm(2h);  // later than that: no wake-up needed
  timer.disarm();
  timer.arm(10ms);
  EXPECT_TRUE(wait_for(timer, 5s));
}

TEST(Watchdog, ManyThreadsArmAndDisarmConcurrently) {
  Watchdog watchdog;
  std::vector<std::thread> threads;
  std::atomic<int> short_expired{0};
  std::atomic<int> long_expired{0};
  constexpr int kRounds = 100;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      DeadlineTimer timer({}, watchdog);
      for (int i = 0; i < kRounds; ++i) {
        timer.arm(1us);
        if (wait_for(timer, 5s)) ++short_expired;
        timer.arm(1h);
        timer.disarm();
        if (timer.expired()) ++long_expired;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(short_expired.load(), 4 * kRounds);
  EXPECT_EQ(long_expired.load(), 0);
}

}  // namespace
}  // namespace warmpool::wasm::internal
