// Isolation on V8: reset() restores in place or re-instantiates in the warm isolate; instances
// move between threads.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "test_support.hpp"
#include "v8_test_support.hpp"

namespace warmpool::wasm::v8 {
namespace {

using testing::bytes;
using testing::plugin;
using wasm::testing::data_file;

Instance instance_of(const std::filesystem::path& path) {
  auto module = Module::load_file(path);
  EXPECT_TRUE(module) << module.error();
  auto instance = Instance::instantiate(*module);
  EXPECT_TRUE(instance) << instance.error();
  return std::move(*instance);
}

std::vector<Value> checked_call(Instance& instance, std::string_view name,
                                std::vector<Value> args = {}) {
  auto r = instance.call(name, args);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : std::vector<Value>{};
}

std::vector<Value> globals_of(Instance& instance) {
  std::vector<Value> values;
  for (auto name : {"get_i32", "get_i64", "get_f32", "get_f64"}) {
    auto v = checked_call(instance, name);
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

// Bytes in chunks that started zero and in a chunk a data segment filled, up to the last one.
constexpr std::int32_t kPokeAddresses[] = {0,     1,     4095,  4096,         65535,
                                           65536, 70000, 70012, 2 * 65536 - 1};

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

// The in-place path: memory and globals only (ExposedState::restorable_in_place).
TEST(V8Lifecycle, ResetPutsBackEveryByteAndEveryGlobalInPlace) {
  Instance instance = instance_of(data_file("globals.wat"));
  const auto clean = checked_call(instance, "digest");
  const auto initial_globals = globals_of(instance);
  EXPECT_EQ(initial_globals, (std::vector<Value>{std::int32_t{-3}, std::int64_t{7}, 1.5f, 2.25}));
  for (std::int32_t addr : kPokeAddresses) {  // one byte at a time ...
    checked_call(instance, "poke", {addr, std::int32_t{0xAB}});
    ASSERT_NE(checked_call(instance, "digest"), clean) << addr;
    ASSERT_TRUE(instance.reset());
    EXPECT_EQ(checked_call(instance, "digest"), clean) << addr;
  }
  for (std::int32_t addr : kPokeAddresses) checked_call(instance, "poke", {addr, std::int32_t{1}});
  checked_call(instance, "scramble");  // ... and everything at once
  ASSERT_NE(globals_of(instance), initial_globals);
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(checked_call(instance, "digest"), clean);
  EXPECT_EQ(globals_of(instance), initial_globals);
  EXPECT_TRUE(instance.healthy());
}

// Memory cannot shrink: after memory.grow reset() re-instantiates, back at the initial size.
TEST(V8Lifecycle, ResetAfterMemoryGrewStartsFromTheInitialSize) {
  Instance instance = instance_of(data_file("globals.wat"));
  const auto clean = checked_call(instance, "digest");
  checked_call(instance, "scramble");
  checked_call(instance, "poke", {std::int32_t{70000}, std::int32_t{0}});
  EXPECT_EQ(checked_call(instance, "grow", {std::int32_t{3}}), std::vector<Value>{std::int32_t{2}});
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(checked_call(instance, "pages"), std::vector<Value>{std::int32_t{2}});
  EXPECT_EQ(checked_call(instance, "digest"), clean);
  EXPECT_EQ(globals_of(instance),
            (std::vector<Value>{std::int32_t{-3}, std::int64_t{7}, 1.5f, 2.25}));
  for (int i = 0; i < 3; ++i) {  // and the in-place path works again on the new memory
    checked_call(instance, "poke", {std::int32_t{5}, std::int32_t{9}});
    ASSERT_TRUE(instance.reset());
    EXPECT_EQ(checked_call(instance, "digest"), clean);
  }
}

// Table writes and dropped segments cannot be undone through exports: those modules are reset
// by re-instantiation, which must undo them too.
TEST(V8Lifecycle, ResetUndoesTableWritesAndDroppedSegments) {
  Instance state = instance_of(data_file("state.wat"));
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(checked_call(state, "bump").empty());
  EXPECT_EQ(checked_call(state, "slot"), std::vector<Value>{std::int32_t{2}});
  ASSERT_TRUE(state.reset());
  EXPECT_EQ(checked_call(state, "calls"), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(checked_call(state, "stored"), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(checked_call(state, "slot"), std::vector<Value>{std::int32_t{1}});

  Instance segments = instance_of(data_file("reset.wat"));
  const auto clean = checked_call(segments, "digest");
  for (std::int32_t addr : kPokeAddresses) checked_call(segments, "poke", {addr, std::int32_t{7}});
  checked_call(segments, "set_hidden", {std::int64_t{42}});
  checked_call(segments, "drop_segments");
  ASSERT_TRUE(segments.reset());
  EXPECT_EQ(checked_call(segments, "digest"), clean);
  EXPECT_EQ(checked_call(segments, "hidden"), std::vector<Value>{std::int64_t{7}});
  EXPECT_EQ(checked_call(segments, "use_segments"), std::vector<Value>{std::int32_t{5}});
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
