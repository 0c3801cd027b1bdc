// V8 instances behind warmpool::InstancePool: good and hostile calls from several threads,
// with the V8 lifecycle deciding what is reset and what is destroyed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "v8_test_support.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::wasm::v8 {
namespace {

using namespace std::chrono_literals;
using testing::bytes;
using testing::plugin;
using Pool = InstancePool<Instance, WasmError>;

Pool make_pool(std::shared_ptr<const Module> module, Recycle recycle) {
  auto pool = Pool::create(
      {.max_instances = 3, .warm_count = 1, .recycle = recycle, .acquire_timeout = 10s},
      [module] { return Instance::instantiate(module); }, lifecycle());
  EXPECT_TRUE(pool) << pool.error();
  return std::move(*pool);
}

// Echo after five "scribble" calls (each leaves damage behind in guest memory) on one pool.
std::string echo_after_scribbles(Recycle recycle) {
  auto pool = make_pool(plugin("hostile"), recycle);
  for (int i = 0; i < 5; ++i) {
    auto instance = pool.checkout();
    EXPECT_TRUE(instance) << instance.error();
    if (!instance) return {};
    auto damaged = (*instance)->call_bytes("scribble", bytes(""));
    EXPECT_TRUE(damaged) << damaged.error();
  }
  auto instance = pool.checkout();
  EXPECT_TRUE(instance) << instance.error();
  if (!instance) return {};
  auto out = (*instance)->call_bytes("echo", bytes("clean"));
  EXPECT_TRUE(out) << out.error();
  return out ? out->output : std::string();
}

TEST(V8Pool, ResetAndFreshUndoStateLeftByTheLastUser) {
  EXPECT_EQ(echo_after_scribbles(Recycle::Reset), "clean");
  EXPECT_EQ(echo_after_scribbles(Recycle::Fresh), "clean");
  // The control: without recycling, the damage is visible.
  EXPECT_EQ(echo_after_scribbles(Recycle::Reuse), "poisoned");
}

TEST(V8Pool, GoodAndHostileCallsFromSeveralThreads) {
  auto module = plugin("hostile", {.fuel = 20'000'000, .timeout = 2s, .max_memory_pages = 64});
  ASSERT_TRUE(module);
  auto pool = make_pool(module, Recycle::Reset);
  // 10,000 calls in all, a quarter of them hostile.
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 2500;
  const std::vector<std::string_view> hostile = {"spin", "grow", "trap", "recurse", "scribble"};
  std::atomic<int> good{0};
  std::atomic<int> stopped{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        auto instance = pool.checkout();
        ASSERT_TRUE(instance) << instance.error();
        if (i % 4 == 3) {
          auto name = hostile[static_cast<std::size_t>(t + i) % hostile.size()];
          auto r = (*instance)->call_bytes(name, bytes("x"));
          if (name == "scribble") {
            ASSERT_TRUE(r) << r.error();
          } else {
            ASSERT_FALSE(r) << name;
            EXPECT_TRUE(r.error().poisons_instance()) << r.error();
            EXPECT_FALSE((*instance)->healthy());
            ++stopped;
          }
        } else {
          const std::string input = "thread " + std::to_string(t) + " call " + std::to_string(i);
          auto r = (*instance)->call_bytes("echo", bytes(input));
          ASSERT_TRUE(r) << r.error();
          EXPECT_EQ(r->output, input);  // "poisoned" would mean a damaged instance was reused
          ++good;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kCallsPerThread * 3 / 4);
  EXPECT_GT(stopped.load(), 0);
  EXPECT_GE(pool.metrics()->destroyed(), static_cast<std::uint64_t>(stopped.load()));
}

}  // namespace
}  // namespace warmpool::wasm::v8
