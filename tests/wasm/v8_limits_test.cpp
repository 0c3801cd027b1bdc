// Per-call limits on V8 (fuel, deadline, memory cap) and traps: each stops the call with a
// clear error, spends the instance and leaves every other instance alone.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "v8_test_support.hpp"
#include "warmpool/wasm/interrupt.hpp"

namespace warmpool::wasm::v8 {
namespace {

using namespace std::chrono_literals;
using testing::bytes;
using testing::plugin;
using testing::wat;

TEST(V8Limits, FuelStopsAnInfiniteLoop) {
  auto instance = Instance::instantiate(plugin("spin", {.fuel = 1'000'000}));
  ASSERT_TRUE(instance) << instance.error();
  auto r = instance->call("spin", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::fuel_exhausted);
  EXPECT_EQ(r.error().message(), "spin.wasm: spin: fuel exhausted (limit 1000000)");
  EXPECT_FALSE(instance->healthy());
}

TEST(V8Limits, FuelIsPerCall) {
  // fib(15) needs a few thousand units; many calls in a row must each get the full budget.
  auto instance = Instance::instantiate(plugin("fib", {.fuel = 100'000}));
  ASSERT_TRUE(instance) << instance.error();
  for (int i = 0; i < 20; ++i) {
    auto r = instance->call("fib", std::vector<Value>{std::int32_t{15}});
    ASSERT_TRUE(r) << "call " << i << ": " << r.error();
    EXPECT_EQ(r->at(0), Value{std::int64_t{610}});
  }
  auto too_big = instance->call("fib", std::vector<Value>{std::int32_t{30}});
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().kind(), ErrorKind::fuel_exhausted);
}

TEST(V8Limits, DeadlineStopsAnInfiniteLoopWithinTwiceTheTimeout) {
  constexpr auto timeout = 100ms;
  auto module = plugin("spin", {.timeout = timeout});
  for (std::string_view which : {"spin", "spin_bytes"}) {
    auto instance = Instance::instantiate(module);
    ASSERT_TRUE(instance) << instance.error();
    const auto start = std::chrono::steady_clock::now();
    std::optional<WasmError> error;
    if (which == "spin") {
      if (auto r = instance->call(which, {}); !r) error = r.error();
    } else {
      if (auto r = instance->call_bytes(which, bytes("x")); !r) error = r.error();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(error) << which << " returned";
    EXPECT_EQ(error->kind(), ErrorKind::deadline);
    EXPECT_EQ(error->message(),
              std::string("spin.wasm: ") + std::string(which) + ": deadline of 100 ms exceeded");
    EXPECT_GE(elapsed, timeout);
    EXPECT_LT(elapsed, 2 * timeout);
    EXPECT_FALSE(instance->healthy());
  }
}

// A host that shuts down ends a call long before its own deadline.
TEST(V8Limits, InterruptRunningCallsEndsASpinningCallEarly) {
  auto instance = Instance::instantiate(plugin("spin", {.timeout = 600s}));
  ASSERT_TRUE(instance) << instance.error();
  std::jthread interrupter([](std::stop_token stop) {
    while (!stop.stop_requested() && interrupt_running_calls() == 0) {
      std::this_thread::sleep_for(5ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = instance->call("spin", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::deadline);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
  EXPECT_FALSE(instance->healthy());
}

TEST(V8Limits, ACallThatFinishesInTimeIsUnaffectedByTheDeadline) {
  auto instance = Instance::instantiate(plugin("fib", {.timeout = 50ms}));
  ASSERT_TRUE(instance);
  for (int i = 0; i < 50; ++i) {
    auto r = instance->call("fib", std::vector<Value>{std::int32_t{10}});
    ASSERT_TRUE(r) << r.error();
  }
  // Idle time after a call must not count against the next one.
  std::this_thread::sleep_for(80ms);
  auto r = instance->call("fib", std::vector<Value>{std::int32_t{10}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->at(0), Value{std::int64_t{55}});
}

TEST(V8Limits, MemoryCapBoundsGrowth) {
  auto instance = Instance::instantiate(plugin("grow", {.max_memory_pages = 40}));
  ASSERT_TRUE(instance) << instance.error();
  auto pages = instance->call("grow", {});
  ASSERT_TRUE(pages) << pages.error();
  EXPECT_EQ(pages->at(0), Value{std::int32_t{40}});
}

// A module from tests/wasm/data, compiled with `limits`.
std::shared_ptr<const Module> data(const char* file, const Limits& limits) {
  auto module = Module::load_file(wasm::testing::data_file(file), limits);
  EXPECT_TRUE(module) << module.error();
  return module ? *module : nullptr;
}

// As on wabt: a start function runs inside instantiation under one call's
// limits. Before, with only a deadline set, an endless one never returned.
TEST(V8Limits, AStartFunctionRunsUnderTheLimitsOfOneCall) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 1'000'000}, Limits{.timeout = 200ms}}) {
    auto instance = Instance::instantiate(data("counting_start.wat", limits));
    ASSERT_TRUE(instance) << instance.error();
    EXPECT_EQ(instance->call("counted", {}).value(), std::vector<Value>{std::int32_t{10}});
  }
  auto out_of_fuel = Instance::instantiate(data("endless_start.wat", {.fuel = 100'000}));
  ASSERT_FALSE(out_of_fuel);
  EXPECT_EQ(out_of_fuel.error().kind(), ErrorKind::fuel_exhausted);
  EXPECT_EQ(out_of_fuel.error().message(),
            "endless_start.wat: start function: fuel exhausted (limit 100000)");
  const auto begun = std::chrono::steady_clock::now();
  auto past_deadline = Instance::instantiate(data("endless_start.wat", {.timeout = 100ms}));
  ASSERT_FALSE(past_deadline);
  EXPECT_EQ(past_deadline.error().kind(), ErrorKind::deadline);
  EXPECT_EQ(past_deadline.error().message(),
            "endless_start.wat: start function: deadline of 100 ms exceeded");
  EXPECT_LT(std::chrono::steady_clock::now() - begun, 10s);  // liveness guard only
}

// The same table cap as wabt's, whatever the limits (V8's own limit is the
// same number): both engines refuse and bound the same modules.
TEST(V8Limits, TablesStayWithinTenMillionElementsWithoutAnyLimitSet) {
  auto huge = Module::compile(bytes("(module (table 4294967295 funcref))"), {}, "table.wat");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().message(),
            "table.wat: table 0 starts at 4294967295 elements, above the limit of 10000000");
  auto instance = Instance::instantiate(wat(R"((module (table 1 funcref)
    (func (export "grow") (param i32) (result i32) (table.grow 0 (ref.null func) (local.get 0)))
    (func (export "size") (result i32) (table.size 0))))"));
  ASSERT_TRUE(instance) << instance.error();
  auto grow = [&](std::int32_t by) { return instance->call("grow", std::vector<Value>{by}); };
  EXPECT_EQ(grow(2'000'000'000).value(), std::vector<Value>{std::int32_t{-1}});
  EXPECT_EQ(grow(9'999'999).value(), std::vector<Value>{std::int32_t{1}});
  EXPECT_EQ(instance->call("size", {}).value(), std::vector<Value>{std::int32_t{10'000'000}});
}

TEST(V8Limits, GrowPastTheCapThenTrapIsAMemoryLimitError) {
  auto instance = Instance::instantiate(wat(R"((module (memory 1)
      (func (export "bomb") (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        unreachable)))",
                                            {.max_memory_pages = 8}, "bomb.wasm"));
  ASSERT_TRUE(instance) << instance.error();
  auto r = instance->call("bomb", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::memory_limit) << r.error();
  EXPECT_EQ(r.error().message(), "bomb.wasm: bomb: memory limit of 8 pages reached");
}

TEST(V8Limits, MallocPastTheCapIsAMemoryLimitError) {
  // The fuel only turns a plugin that never reaches the cap into a failure instead of a hang.
  auto instance =
      Instance::instantiate(plugin("grow", {.fuel = 200'000'000, .max_memory_pages = 40}));
  ASSERT_TRUE(instance) << instance.error();
  auto out = instance->call_bytes("grow_bytes", bytes("x"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::memory_limit) << out.error();
  EXPECT_EQ(out.error().message(), "grow.wasm: grow_bytes: memory limit of 40 pages reached");
  EXPECT_FALSE(instance->healthy());
}

TEST(V8Limits, TrapIsReportedAndSpendsOnlyThatInstance) {
  auto module = plugin("trap");
  auto victim = Instance::instantiate(module);
  auto bystander = Instance::instantiate(plugin("echo"));
  ASSERT_TRUE(victim);
  ASSERT_TRUE(bystander);
  auto r = victim->call("trap", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::trap);
  EXPECT_NE(r.error().message().find("trap.wasm: trap: "), std::string::npos) << r.error();
  EXPECT_NE(r.error().message().find("unreachable"), std::string::npos) << r.error();
  EXPECT_FALSE(victim->healthy());

  auto again = victim->call("trap", {});
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("create a new one"), std::string::npos);

  auto fine = bystander->call_bytes("echo", bytes("still here"));
  ASSERT_TRUE(fine) << fine.error();
  EXPECT_EQ(fine->output, "still here");
}

TEST(V8Limits, StackOverflowIsATrap) {
  auto instance =
      Instance::instantiate(wat(R"((module (func $f (export "f") (call $f))))", {}, "deep.wasm"));
  ASSERT_TRUE(instance);
  auto r = instance->call("f", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::trap) << r.error();
  EXPECT_FALSE(instance->healthy());
}

}  // namespace
}  // namespace warmpool::wasm::v8
