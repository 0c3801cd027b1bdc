// reset() and the pool lifecycle on every engine: everything a guest can change is put back
// (memory, globals, tables, dropped segments), a stopped instance is never reset, and
// instances move between threads.
#include <string_view>
#include <thread>
#include <vector>

#include "api_test_support.hpp"
#include "test_support.hpp"
#include "warmpool/wasm/pool.hpp"

namespace warmpool::wasm {
namespace {

using testing::data_file;
using testing::EngineTest;
using testing::plugin_file;

class ApiReset : public EngineTest {};
WARMPOOL_ON_EVERY_ENGINE(ApiReset);

std::vector<Value> checked_call(Instance& instance, std::string_view name,
                                std::vector<Value> args = {}) {
  auto r = instance.call(name, args);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : std::vector<Value>{};
}

std::int32_t counter_call(Instance& instance, std::string_view name) {
  auto r = instance.call(name, {});
  EXPECT_TRUE(r) << r.error();
  return r ? std::get<std::int32_t>(r->at(0)) : -2;
}

std::vector<Value> globals_of(Instance& instance) {
  std::vector<Value> values;
  for (auto name : {"get_i32", "get_i64", "get_f32", "get_f64"}) {
    auto v = checked_call(instance, name);
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

const std::vector<Value> kInitialGlobals = {std::int32_t{-3}, std::int64_t{7}, 1.5f, 2.25};

// Bytes in chunks that started zero and in a chunk a data segment filled, up to the last one.
constexpr std::int32_t kPokeAddresses[] = {0,     1,     4095,  4096,         65535,
                                           65536, 70000, 70012, 2 * 65536 - 1};

// Changes one byte at each of kPokeAddresses in turn (the module exports
// "poke" and "digest", a hash of all its memory): reset() must undo each.
void expect_reset_undoes_each_poke(Instance& instance, const std::vector<Value>& clean) {
  for (std::int32_t addr : kPokeAddresses) {
    checked_call(instance, "poke", {addr, std::int32_t{0xAB}});
    ASSERT_NE(checked_call(instance, "digest"), clean) << addr;
    ASSERT_TRUE(instance.reset());
    EXPECT_EQ(checked_call(instance, "digest"), clean) << addr;
  }
}

TEST_P(ApiReset, RestoresTheCounterOfARealPlugin) {
  Instance counter = instance_of(plugin_file("counter.wasm"));
  for (int i = 1; i <= 20; ++i) ASSERT_EQ(counter_call(counter, "increment"), i);
  EXPECT_EQ(counter_call(counter, "get"), 20);
  ASSERT_TRUE(counter.reset());
  EXPECT_EQ(counter_call(counter, "get"), 0);
  EXPECT_EQ(counter_call(counter, "increment"), 1);
}

TEST_P(ApiReset, EveryResetStartsFromScratch) {
  Instance counter = instance_of(plugin_file("counter.wasm"));
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(counter_call(counter, "increment"), 1);
    ASSERT_TRUE(counter.reset()) << i;
  }
}

// Memory and globals only: V8 restores these in place (ExposedState::restorable_in_place).
TEST_P(ApiReset, PutsBackEveryByteAndEveryGlobal) {
  Instance instance = instance_of(data_file("globals.wat"));
  const auto clean = checked_call(instance, "digest");
  EXPECT_EQ(globals_of(instance), kInitialGlobals);
  expect_reset_undoes_each_poke(instance, clean);  // one byte at a time ...
  for (std::int32_t addr : kPokeAddresses) checked_call(instance, "poke", {addr, std::int32_t{1}});
  checked_call(instance, "scramble");  // ... and everything at once
  ASSERT_NE(globals_of(instance), kInitialGlobals);
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(checked_call(instance, "digest"), clean);
  EXPECT_EQ(globals_of(instance), kInitialGlobals);
  EXPECT_TRUE(instance.healthy());
}

// Table writes and dropped segments cannot be undone through exports (V8
// re-instantiates such modules): reset() must put them back all the same, and
// a global no export exposes.
TEST_P(ApiReset, PutsBackTablesHiddenGlobalsAndDroppedSegments) {
  Instance state = instance_of(data_file("state.wat"));
  EXPECT_EQ(checked_call(state, "slot"), std::vector<Value>{std::int32_t{1}});
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(checked_call(state, "bump").empty());
  EXPECT_EQ(checked_call(state, "calls"), std::vector<Value>{std::int32_t{3}});
  EXPECT_EQ(checked_call(state, "stored"), std::vector<Value>{std::int32_t{3}});
  EXPECT_EQ(checked_call(state, "slot"), std::vector<Value>{std::int32_t{2}});
  ASSERT_TRUE(state.reset());
  EXPECT_EQ(checked_call(state, "calls"), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(checked_call(state, "stored"), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(checked_call(state, "slot"), std::vector<Value>{std::int32_t{1}});

  Instance segments = instance_of(data_file("reset.wat"));
  const auto clean = checked_call(segments, "digest");
  Instance twin = instance_of(data_file("reset.wat"));
  EXPECT_EQ(checked_call(twin, "digest"), clean);
  expect_reset_undoes_each_poke(segments, clean);  // one byte at a time ...
  for (std::int32_t addr : kPokeAddresses) checked_call(segments, "poke", {addr, std::int32_t{7}});
  checked_call(segments, "set_hidden", {std::int64_t{42}});
  checked_call(segments, "drop_segments");
  ASSERT_TRUE(segments.reset());
  EXPECT_EQ(checked_call(segments, "digest"), clean);
  EXPECT_EQ(checked_call(segments, "hidden"), std::vector<Value>{std::int64_t{7}});
  // Traps if the segments were still dropped.
  EXPECT_EQ(checked_call(segments, "use_segments"), std::vector<Value>{std::int32_t{5}});
  EXPECT_TRUE(segments.healthy());
  ASSERT_TRUE(segments.reset());
  EXPECT_EQ(checked_call(segments, "digest"), clean);
}

// Memory cannot shrink. V8 instantiates again in its warm isolate, back at the
// initial size; wabt cannot, and says so (the pool then destroys the instance).
TEST_P(ApiReset, AfterMemoryGrewStartsFromTheInitialSizeOrRefuses) {
  Instance instance = instance_of(data_file("globals.wat"));
  ASSERT_TRUE(instance.reset());  // nothing changed: trivially possible
  const auto clean = checked_call(instance, "digest");
  checked_call(instance, "scramble");
  checked_call(instance, "poke", {std::int32_t{70000}, std::int32_t{0}});
  EXPECT_EQ(checked_call(instance, "grow", {std::int32_t{3}}), std::vector<Value>{std::int32_t{2}});
  if (engine() == Engine::wabt()) {
    EXPECT_FALSE(instance.reset());
    return;
  }
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(checked_call(instance, "pages"), std::vector<Value>{std::int32_t{2}});
  EXPECT_EQ(checked_call(instance, "digest"), clean);
  EXPECT_EQ(globals_of(instance), kInitialGlobals);
  for (int i = 0; i < 3; ++i) {  // and resetting works again on the new memory
    checked_call(instance, "poke", {std::int32_t{5}, std::int32_t{9}});
    ASSERT_TRUE(instance.reset());
    EXPECT_EQ(checked_call(instance, "digest"), clean);
  }
}

TEST_P(ApiReset, TheLifecycleReflectsHealthAndNeverResetsAStoppedInstance) {
  Lifecycle<Instance> lc = lifecycle();
  ASSERT_TRUE(lc.is_healthy && lc.reset);
  Instance trap = instance_of(plugin_file("trap.wasm"));
  EXPECT_TRUE(lc.is_healthy(trap));
  EXPECT_TRUE(InstanceLifecycle::is_healthy(trap));
  EXPECT_TRUE(lc.reset(trap));
  ASSERT_FALSE(trap.call("trap", {}));
  EXPECT_FALSE(trap.reset());
  EXPECT_FALSE(lc.is_healthy(trap));
  EXPECT_FALSE(lc.reset(trap));
  EXPECT_FALSE(InstanceLifecycle::is_healthy(trap));
  EXPECT_FALSE(InstanceLifecycle::reset(trap));
}

TEST_P(ApiReset, InstancesMoveBetweenThreads) {
  LinkedModule counter = load(plugin_file("counter.wasm"));
  std::vector<Instance> instances;
  for (int i = 0; i < 3; ++i) instances.push_back(instantiate(counter));
  // Each round hands every instance to a new thread (V8: its Locker must follow).
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
  ASSERT_TRUE(moved.reset());
  EXPECT_EQ(counter_call(moved, "get"), 0);
}

}  // namespace
}  // namespace warmpool::wasm
