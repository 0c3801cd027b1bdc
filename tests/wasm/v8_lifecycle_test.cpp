// Isolation on V8: reset() re-instantiates in the warm isolate, instances move between threads.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "v8_test_support.hpp"

namespace warmpool::wasm::v8 {
namespace {

using testing::bytes;
using testing::plugin;

std::int32_t counter_call(Instance& instance, std::string_view name) {
  auto r = instance.call(name, {});
  EXPECT_TRUE(r) << r.error();
  return r ? std::get<std::int32_t>(r->at(0)) : -2;
}

TEST(V8Lifecycle, ResetRestoresThePostInstantiationState) {
  auto instance = Instance::instantiate(plugin("counter"));
  ASSERT_TRUE(instance) << instance.error();
  for (int i = 1; i <= 20; ++i) EXPECT_EQ(counter_call(*instance, "increment"), i);
  EXPECT_EQ(counter_call(*instance, "get"), 20);
  ASSERT_TRUE(instance->reset());
  EXPECT_EQ(counter_call(*instance, "get"), 0);
  EXPECT_EQ(counter_call(*instance, "increment"), 1);
}

TEST(V8Lifecycle, AnUnhealthyInstanceIsNotReset) {
  auto instance = Instance::instantiate(plugin("trap"));
  ASSERT_TRUE(instance);
  ASSERT_FALSE(instance->call("trap", {}));
  EXPECT_FALSE(instance->reset());
  auto lc = lifecycle();
  EXPECT_FALSE(lc.is_healthy(*instance));
  EXPECT_FALSE(lc.reset(*instance));
}

TEST(V8Lifecycle, EveryResetStartsFromScratch) {
  auto instance = Instance::instantiate(plugin("counter"));
  ASSERT_TRUE(instance);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(counter_call(*instance, "increment"), 1);
    ASSERT_TRUE(instance->reset()) << i;
  }
}

TEST(V8Lifecycle, InstancesMoveBetweenThreads) {
  auto module = plugin("counter");
  std::vector<Instance> instances;
  for (int i = 0; i < 3; ++i) {
    auto instance = Instance::instantiate(module);
    ASSERT_TRUE(instance) << instance.error();
    instances.push_back(std::move(*instance));
  }
  // Each round hands every instance to a new thread: V8's Locker must follow it.
  for (int round = 1; round <= 4; ++round) {
    std::vector<std::thread> threads;
    for (auto& instance : instances) {
      threads.emplace_back(
          [&instance, round] { EXPECT_EQ(counter_call(instance, "increment"), round); });
    }
    for (auto& t : threads) t.join();
  }
  Instance moved = std::move(instances.front());
  EXPECT_EQ(counter_call(moved, "get"), 4);
}

}  // namespace
}  // namespace warmpool::wasm::v8
