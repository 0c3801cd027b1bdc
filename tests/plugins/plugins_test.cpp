// The bundled plugins (plugins/) keep the contract docs/plugin-abi.md lists for
// them: their exports and types, and what each does, on every engine.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_engines.hpp"

namespace warmpool::plugin_test {
namespace {

using std::chrono::milliseconds;
using wasm::ErrorKind;
using wasm::FunctionType;
using wasm::Value;
using wasm::ValueType;

const FunctionType kBytes{{ValueType::i32, ValueType::i32}, {ValueType::i64}};
const FunctionType kAlloc{{ValueType::i32}, {ValueType::i32}};
const FunctionType kFree{{ValueType::i32}, {}};
const FunctionType kVoid{{}, {}};
const FunctionType kNullaryI32{{}, {ValueType::i32}};

bool same_type(const FunctionType& a, const FunctionType& b) {
  return a.params == b.params && a.results == b.results;
}

// The error a call that must fail gave, through call() for numeric exports
// (no arguments) or call_bytes() (empty input) for bytes exports.
std::optional<wasm::WasmError> failure(wasm::Instance& instance, std::string_view name,
                                       bool bytes) {
  if (bytes) {
    auto r = instance.call_bytes(name, {});
    if (!r) return r.error();
  } else {
    auto r = instance.call(name, {});
    if (!r) return r.error();
  }
  return std::nullopt;
}

struct ExpectedExport {
  std::string_view plugin;
  std::string_view name;
  FunctionType type;
};

// The documented exports of every bundled plugin. C plugins also carry the
// allocator pair from warmpool_plugin.h and the reactor's _initialize.
std::vector<ExpectedExport> documented_exports() {
  std::vector<ExpectedExport> all = {
      {"hello", "hello", kBytes},
      {"echo", "echo", kBytes},
      {"upper", "upper", kBytes},
      {"fib", "fib", {{ValueType::i32}, {ValueType::i64}}},
      {"counter", "increment", kNullaryI32},
      {"counter", "get", kNullaryI32},
      {"spin", "spin", kVoid},
      {"spin", "spin_bytes", kBytes},
      {"spin", "wp_alloc", kAlloc},
      {"grow", "grow", kNullaryI32},
      {"grow", "grow_bytes", kBytes},
      {"trap", "trap", kVoid},
      {"trap", "trap_bytes", kBytes},
      {"trap", "wp_alloc", kAlloc},
      {"markdown", "render", kBytes},
  };
  for (std::string_view name : {"echo", "spin", "grow", "trap", "recurse", "scribble"}) {
    all.push_back({"hostile", name, kBytes});
  }
  for (std::string_view c_plugin :
       {"hello", "echo", "upper", "fib", "counter", "grow", "hostile", "markdown"}) {
    all.push_back({c_plugin, "wp_alloc", kAlloc});
    all.push_back({c_plugin, "wp_free", kFree});
    all.push_back({c_plugin, "_initialize", kVoid});
  }
  return all;
}

class PluginTest : public PluginEngineTest {};
WARMPOOL_ON_EVERY_ENGINE(PluginTest);

TEST_P(PluginTest, ExportsTheDocumentedFunctionsWithTheirTypes) {
  for (const auto& expected : documented_exports()) {
    SCOPED_TRACE(std::string(expected.plugin) + ".wasm: " + std::string(expected.name));
    auto module = load(expected.plugin);
    const auto* found = module.module().find_export(expected.name);
    ASSERT_NE(found, nullptr);
    EXPECT_TRUE(same_type(found->type, expected.type));
  }
}

TEST_P(PluginTest, HelloGreetsItsInputOnStdoutAndInItsOutput) {
  auto hello = instantiate("hello");
  auto named = hello.call_bytes("hello", as_bytes("Ada"));
  ASSERT_TRUE(named) << named.error();
  EXPECT_EQ(named->output, "Hello, Ada!");
  EXPECT_EQ(named->stdout_text, "Hello, Ada!\n");
  EXPECT_EQ(named->stderr_text, "");

  auto anonymous = hello.call_bytes("hello", {});
  ASSERT_TRUE(anonymous) << anonymous.error();
  EXPECT_EQ(anonymous->output, "Hello, world!");
  EXPECT_EQ(anonymous->stdout_text, "Hello, world!\n");  // captured per call, not accumulated
}

TEST_P(PluginTest, EchoReturnsEveryByteUnchanged) {
  auto echo = instantiate("echo");
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  const std::string large(1 << 20, 'w');  // larger than the plugin's initial memory
  for (const std::string& input : {std::string(), all_bytes, large}) {
    auto out = echo.call_bytes("echo", as_bytes(input));
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(out->output, input);
  }
}

TEST_P(PluginTest, UpperChangesOnlyAsciiLowercase) {
  auto upper = instantiate("upper");
  const std::string input = "warm pool: Zebra-42 \xC3\xA9t\xC3\xA9 {a..z}";
  std::string expected = input;
  for (char& c : expected) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  auto out = upper.call_bytes("upper", as_bytes(input));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->output, expected);
}

TEST_P(PluginTest, FibAgreesWithAnIterativeFibonacci) {
  auto fib = instantiate("fib");
  std::int64_t previous = 0, current = 0, next = 1;
  for (std::int32_t n = 0; n <= 24; ++n) {
    SCOPED_TRACE(n);
    const Value arg = n;
    auto result = fib.call("fib", std::span(&arg, 1));
    ASSERT_TRUE(result) << result.error();
    ASSERT_EQ(result->size(), 1u);
    EXPECT_EQ(std::get<std::int64_t>(result->front()), current);
    previous = current;
    current = next;
    next = previous + current;
  }
}

TEST_P(PluginTest, CounterStateIsPerInstanceAndResetClearsIt) {
  auto first = instantiate("counter");
  auto second = instantiate("counter");
  auto get = [](auto& instance) {
    auto r = instance.call("get", {});
    EXPECT_TRUE(r) << r.error();
    return r ? std::get<std::int32_t>(r->front()) : -2;
  };
  for (std::int32_t expected = 1; expected <= 20; ++expected) {
    auto r = first.call("increment", {});
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(std::get<std::int32_t>(r->front()), expected);
  }
  EXPECT_EQ(get(first), 20);
  EXPECT_EQ(get(second), 0);

  ASSERT_TRUE(first.reset());
  EXPECT_EQ(get(first), 0);  // the count and its stamps in the static buffer are both back
  auto again = first.call("increment", {});
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(std::get<std::int32_t>(again->front()), 1);
}

TEST_P(PluginTest, SpinIsStoppedByFuel) {
  for (std::string_view name : {"spin", "spin_bytes"}) {
    SCOPED_TRACE(name);
    auto spin = instantiate("spin", {.fuel = 1'000'000});
    auto error = failure(spin, name, name == "spin_bytes");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::fuel_exhausted) << *error;
    EXPECT_NE(error->message().find(name), std::string::npos) << *error;
    EXPECT_FALSE(spin.healthy());
  }
}

TEST_P(PluginTest, SpinIsStoppedByTheDeadline) {
  auto spin = instantiate("spin", {.timeout = milliseconds(50)});
  auto error = failure(spin, "spin", false);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::deadline) << *error;
  EXPECT_FALSE(spin.healthy());
}

TEST_P(PluginTest, GrowStopsAtTheMemoryCap) {
  constexpr std::uint32_t cap = 40;
  auto grow = instantiate("grow", {.max_memory_pages = cap});
  auto pages = grow.call("grow", {});
  ASSERT_TRUE(pages) << pages.error();  // memory.grow fails politely: -1, no trap
  EXPECT_EQ(std::get<std::int32_t>(pages->front()), static_cast<std::int32_t>(cap));

  auto bomb = instantiate("grow", {.max_memory_pages = cap});
  auto error = failure(bomb, "grow_bytes", true);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::memory_limit) << *error;
  EXPECT_FALSE(bomb.healthy());
}

TEST_P(PluginTest, TrapIsReportedAsATrap) {
  for (std::string_view name : {"trap", "trap_bytes"}) {
    SCOPED_TRACE(name);
    auto trap = instantiate("trap");
    auto error = failure(trap, name, name == "trap_bytes");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::trap) << *error;
    EXPECT_FALSE(trap.healthy());
  }
}

// Each misbehaviour poisons only its own instance: another instance of the
// same module still echoes correctly.
TEST_P(PluginTest, HostileExportsFailWithTheirOwnKindOfError) {
  struct Case {
    std::string_view name;
    wasm::Limits limits;
    ErrorKind kind;
  };
  const Case cases[] = {
      {"spin", {.fuel = 1'000'000}, ErrorKind::fuel_exhausted},
      {"grow", {.max_memory_pages = 64}, ErrorKind::memory_limit},
      {"trap", {}, ErrorKind::trap},
      {"recurse", {}, ErrorKind::trap},  // the engine's call stack overflows
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto module = load("hostile", c.limits);
    auto victim = wasm::Instance::instantiate(module);
    ASSERT_TRUE(victim) << victim.error();
    auto r = victim->call_bytes(c.name, as_bytes("payload"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), c.kind) << r.error();
    EXPECT_FALSE(victim->healthy());
    EXPECT_FALSE(victim->reset());

    auto bystander = wasm::Instance::instantiate(module);
    ASSERT_TRUE(bystander) << bystander.error();
    auto echoed = bystander->call_bytes("echo", as_bytes("payload"));
    ASSERT_TRUE(echoed) << echoed.error();
    EXPECT_EQ(echoed->output, "payload");
  }
}

TEST_P(PluginTest, HostileEchoReportsDamageUntilReset) {
  auto hostile = instantiate("hostile");
  auto scribbled = hostile.call_bytes("scribble", {});
  ASSERT_TRUE(scribbled) << scribbled.error();
  auto damaged = hostile.call_bytes("echo", as_bytes("payload"));
  ASSERT_TRUE(damaged) << damaged.error();
  EXPECT_EQ(damaged->output, "poisoned");

  ASSERT_TRUE(hostile.reset());
  auto restored = hostile.call_bytes("echo", as_bytes("payload"));
  ASSERT_TRUE(restored) << restored.error();
  EXPECT_EQ(restored->output, "payload");
}

}  // namespace
}  // namespace warmpool::plugin_test
