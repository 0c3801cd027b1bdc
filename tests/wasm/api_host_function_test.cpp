// Host functions on every engine: every value type and arity, guest memory, host data,
// throwing and stopping, and linking with one set of messages.
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "api_test_support.hpp"

namespace warmpool::wasm {
namespace {

using testing::as_bytes;
using testing::EngineTest;

class HostFunctions : public EngineTest {};
WARMPOOL_ON_EVERY_ENGINE(HostFunctions);

constexpr std::string_view kTypes = R"((module
  (import "env" "answer" (func $answer (result i32)))
  (import "env" "touch" (func $touch))
  (import "env" "i32" (func $i32 (param i32) (result i32)))
  (import "env" "i64" (func $i64 (param i64) (result i64)))
  (import "env" "f32" (func $f32 (param f32) (result f32)))
  (import "env" "f64" (func $f64 (param f64) (result f64)))
  (import "env" "ten" (func $ten (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i32) (result f64)))
  (import "env" "raw" (func $raw (param i64 i32) (result i64)))
  (func (export "answer") (result i32) (call $touch) (call $answer))
  (func (export "i32") (param i32) (result i32) (call $i32 (local.get 0)))
  (func (export "i64") (param i64) (result i64) (call $i64 (local.get 0)))
  (func (export "f32") (param f32) (result f32) (call $f32 (local.get 0)))
  (func (export "f64") (param f64) (result f64) (call $f64 (local.get 0)))
  (func (export "ten") (result f64)
    (call $ten (i32.const 1) (i64.const 2) (f32.const 3.5) (f64.const 4.25) (i32.const -5)
               (i64.const 6000000000) (f32.const 7) (f64.const 8) (i32.const 9) (i32.const 10)))
  (func (export "raw") (param i64 i32) (result i64) (call $raw (local.get 0) (local.get 1)))))";

struct Touches {
  int count = 0;
};

Linker types_linker() {
  Linker linker;
  linker.define("env", "answer", [] { return std::int32_t{42}; })
      .define("env", "touch", [](Caller& caller) { ++caller.data<Touches>()->count; })
      .define("env", "i32", [](std::int32_t x) { return x * 2; })
      .define("env", "i64", [](std::int64_t x) { return -x; })
      .define("env", "f32", [](float x) { return x / 2; })
      .define("env", "f64", [](double x) { return std::sqrt(x); })
      .define("env", "ten",
              [](std::int32_t a, std::int64_t b, float c, double d, std::int32_t e, std::int64_t f,
                 float g, double h, std::int32_t i, std::int32_t j) {
                return a + static_cast<double>(b) + c + d + e + static_cast<double>(f) + g + h + i +
                       j;
              })
      .define("env", "raw",
              HostFunction(
                  {{ValueType::i64, ValueType::i32}, {ValueType::i64}},
                  [](Caller&, std::span<const std::uint64_t> args,
                     std::span<std::uint64_t> results) { results[0] = args[0] + (args[1] << 32); }))
      .host_data([] { return Touches{}; });
  return linker;
}

TEST_P(HostFunctions, EveryValueTypeAndArityRoundTrips) {
  Instance instance = instantiate(link(types_linker(), compile(kTypes)));
  EXPECT_EQ(instance.call("answer", {}).value(), std::vector<Value>{42});
  EXPECT_EQ(instance.host_data<Touches>()->count, 1);
  EXPECT_EQ(instance.call("i32", std::vector<Value>{-21}).value(), std::vector<Value>{-42});
  EXPECT_EQ(instance.call("i64", std::vector<Value>{std::int64_t{1} << 50}).value(),
            std::vector<Value>{-(std::int64_t{1} << 50)});
  EXPECT_EQ(instance.call("f32", std::vector<Value>{5.0f}).value(), std::vector<Value>{2.5f});
  EXPECT_EQ(instance.call("f64", std::vector<Value>{2.25}).value(), std::vector<Value>{1.5});
  EXPECT_EQ(instance.call("ten", {}).value(),
            std::vector<Value>{1 + 2 + 3.5 + 4.25 - 5 + 6000000000.0 + 7 + 8 + 9 + 10});
  EXPECT_EQ(instance.call("raw", std::vector<Value>{std::int64_t{5}, 1}).value(),
            std::vector<Value>{(std::int64_t{1} << 32) + 5});
  EXPECT_EQ(instance.host_data<std::string>(), nullptr);  // not the type it holds
}

constexpr std::string_view kMemory = R"((module
  (import "env" "fill" (func $fill (param i32 i32) (result i32)))
  (import "env" "sum" (func $sum (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\01\02\03\04")
  (func (export "fill_then_read") (param i32) (result i32)
    (drop (call $fill (local.get 0) (i32.const 5)))
    (i32.load8_u (i32.add (local.get 0) (i32.const 4))))
  (func (export "sum") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))))";

Linker memory_linker() {
  Linker linker;
  linker
      .define("env", "fill",
              [](Caller& caller, std::int32_t ptr, std::int32_t len) -> std::int32_t {
                auto target = caller.memory().span(static_cast<std::uint32_t>(ptr),
                                                   static_cast<std::uint32_t>(len));
                if (!target) {
                  caller.stop(target.error().message());
                  return 0;
                }
                for (auto& byte : *target) byte = 'x';
                return len;
              })
      .define("env", "sum",
              [](Caller& caller, std::int32_t ptr,
                 std::int32_t len) -> std::expected<std::int32_t, WasmError> {
                auto bytes = caller.memory().read(static_cast<std::uint32_t>(ptr),
                                                  static_cast<std::uint32_t>(len));
                if (!bytes) return std::unexpected(bytes.error());
                std::int32_t total = 0;
                for (auto byte : *bytes) total += byte;
                return total;
              });
  return linker;
}

TEST_P(HostFunctions, ReadAndWriteGuestMemoryWithBoundsChecks) {
  LinkedModule linked = link(memory_linker(), compile(kMemory));
  Instance instance = instantiate(linked);
  EXPECT_EQ(instance.call("fill_then_read", std::vector<Value>{100}).value(),
            std::vector<Value>{'x'});
  EXPECT_EQ(instance.call("sum", std::vector<Value>{16, 4}).value(), std::vector<Value>{10});

  auto outside = instance.call("sum", std::vector<Value>{65534, 4});
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().kind(), ErrorKind::trap);
  EXPECT_EQ(outside.error().message(),
            "test.wat: sum: host function 'env.sum' stopped the call: memory access [65534, "
            "65538) outside memory of 65536 bytes");
  EXPECT_FALSE(instance.healthy());

  Instance other = instantiate(linked);
  auto past_end = other.call("fill_then_read", std::vector<Value>{65535});
  ASSERT_FALSE(past_end);
  EXPECT_EQ(past_end.error().message(),
            "test.wat: fill_then_read: host function 'env.fill' stopped the call: memory access "
            "[65535, 65540) outside memory of 65536 bytes");
}

constexpr std::string_view kFailing = R"((module
  (import "env" "throws" (func $throws))
  (import "env" "stops" (func $stops (param i32) (result i32)))
  (func (export "throws") (call $throws))
  (func (export "stops") (param i32) (result i32) (call $stops (local.get 0)))
  (func (export "fine") (result i32) (i32.const 1))))";

TEST_P(HostFunctions, ThrowingOrStoppingTrapsTheCallAndPoisonsOnlyThatInstance) {
  Linker linker;
  linker.define("env", "throws", [] { throw std::runtime_error("no network"); })
      .define("env", "stops", [](Caller& caller, std::int32_t x) {
        if (x > 10) caller.stop("quota of 10 exceeded");
        return x;
      });
  LinkedModule linked = link(linker, compile(kFailing, {.fuel = 1'000'000}));

  Instance thrower = instantiate(linked);
  auto thrown = thrower.call("throws", {});
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().kind(), ErrorKind::trap);
  EXPECT_EQ(thrown.error().message(),
            "test.wat: throws: host function 'env.throws' threw: no network");
  EXPECT_FALSE(thrower.healthy());

  Instance stopper = instantiate(linked);
  EXPECT_EQ(stopper.call("stops", std::vector<Value>{3}).value(), std::vector<Value>{3});
  auto stopped = stopper.call("stops", std::vector<Value>{11});
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().kind(), ErrorKind::trap);
  EXPECT_EQ(stopped.error().message(),
            "test.wat: stops: host function 'env.stops' stopped the call: quota of 10 exceeded");
  EXPECT_FALSE(stopper.healthy());
  EXPECT_EQ(stopper.call("fine", {}).error().message(),
            "test.wat: fine: instance was stopped earlier; create a new one");

  EXPECT_EQ(instantiate(linked).call("fine", {}).value(), std::vector<Value>{1});
}

TEST_P(HostFunctions, LinkingChecksEveryImportWithOneSetOfMessages) {
  Module module = compile(R"((module (import "env" "log" (func (param i32 i32)))))", {}, "x.wasm");
  auto missing = Linker().link(module);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::link);
  EXPECT_EQ(missing.error().message(), "x.wasm: unknown import 'env.log'");

  auto mismatched = Linker().define("env", "log", [](std::int32_t) {}).link(module);
  ASSERT_FALSE(mismatched);
  EXPECT_EQ(mismatched.error().kind(), ErrorKind::link);
  EXPECT_EQ(mismatched.error().message(),
            "x.wasm: import 'env.log' has type (i32, i32) -> (), the host defines (i32) -> ()");

  auto wrong_result =
      Linker().define("env", "log", [](std::int32_t, std::int32_t) { return 0; }).link(module);
  ASSERT_FALSE(wrong_result);
  EXPECT_EQ(wrong_result.error().message(),
            "x.wasm: import 'env.log' has type (i32, i32) -> (), the host defines (i32, i32) -> "
            "(i32)");

  EXPECT_TRUE(Linker().define("env", "log", [](std::int32_t, std::int32_t) {}).link(module));
  EXPECT_EQ(module.imports().size(), 1u);
  EXPECT_EQ(module.imports()[0].name, "log");
}

constexpr std::string_view kWasiUser = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "\10\00\00\00\03\00\00\00hi\0a")
  (func (export "speak") (result i32)
    (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))";

TEST_P(HostFunctions, WasiIsAnOrdinarySetOfDefinitionsThatCanBeOmittedOrOverridden) {
  Module module = compile(kWasiUser);
  auto without = Linker().link(module);
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().message(),
            "test.wat: unknown import 'wasi_snapshot_preview1.fd_write'");

  Instance standard = instantiate(link(Linker().define_wasi(), module));
  EXPECT_EQ(standard.call("speak", {}).value(), std::vector<Value>{0});
  EXPECT_EQ(standard.last_stdout(), "hi\n");

  Linker overridden;
  overridden.define_wasi().define(
      "wasi_snapshot_preview1", "fd_write",
      [](std::int32_t fd, std::int32_t, std::int32_t, std::int32_t) { return 100 + fd; });
  Instance custom = instantiate(link(overridden, module));
  EXPECT_EQ(custom.call("speak", {}).value(), std::vector<Value>{101});
  EXPECT_EQ(custom.last_stdout(), "");
}

TEST_P(HostFunctions, AHostFunctionStopsAStartFunctionWithTheSameMessage) {
  Module module = compile(R"((module
      (import "env" "deny" (func $deny))
      (func $start (call $deny))
      (start $start)))");
  auto linked =
      Linker().define("env", "deny", [](Caller& caller) { caller.stop("denied"); }).link(module);
  ASSERT_TRUE(linked);
  auto instance = Instance::instantiate(*linked);
  ASSERT_FALSE(instance);
  EXPECT_EQ(instance.error().kind(), ErrorKind::instantiate);
  EXPECT_EQ(instance.error().message(),
            "test.wat: start function: host function 'env.deny' stopped the call: denied");
}

constexpr std::string_view kReactor = R"((module
  (import "env" "note" (func $note (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ready")
  (func (export "_initialize") (call $note (i32.const 0) (i32.const 5)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "touch") (call $note (i32.const 0) (i32.const 5)))))";

struct Notes {
  std::vector<std::string> seen;
};

LinkedModule reactor(const Module& module) {
  Linker linker;
  linker
      .define("env", "note",
              [](Caller& caller, std::int32_t ptr, std::int32_t len) {
                auto text = caller.memory().read(static_cast<std::uint32_t>(ptr),
                                                 static_cast<std::uint32_t>(len));
                if (!text) return caller.stop(text.error().message());
                caller.data<Notes>()->seen.emplace_back(text->begin(), text->end());
              })
      .host_data([] { return Notes{}; });
  return *linker.link(module);
}

TEST_P(HostFunctions, InitializeReachesMemoryAndHostDataAndResetRecreatesThem) {
  Instance instance = instantiate(reactor(compile(kReactor)));
  EXPECT_EQ(instance.host_data<Notes>()->seen, std::vector<std::string>{"ready"});
  ASSERT_TRUE(instance.call("touch", {}));
  EXPECT_EQ(instance.host_data<Notes>()->seen.size(), 2u);

  // In place: the host data as _initialize left it (a copy), like guest memory.
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(instance.host_data<Notes>()->seen, std::vector<std::string>{"ready"});

  // Memory that grew cannot shrink: V8 instantiates again (running _initialize, with the new
  // host data), wabt refuses and the pool would build a new instance.
  ASSERT_EQ(instance.call("grow", {}).value(), std::vector<Value>{1});
  const bool reset = instance.reset();
  EXPECT_EQ(reset, engine().name() == "v8");
  if (reset) {
    EXPECT_EQ(instance.host_data<Notes>()->seen, std::vector<std::string>{"ready"});
    EXPECT_EQ(instance.memory().size(), 65536u);
  }
}

constexpr std::string_view kChatty = R"((module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (func (export "forever") (local $i i32)
    (loop $again (local.set $i (call $tick (local.get $i))) (br $again)))))";

TEST_P(HostFunctions, LimitsStopAGuestThatKeepsCallingTheHost) {
  Linker linker;
  linker.define("env", "tick", [](std::int32_t i) { return i + 1; });
  Instance fueled = instantiate(link(linker, compile(kChatty, {.fuel = 100'000})));
  auto out_of_fuel = fueled.call("forever", {});
  ASSERT_FALSE(out_of_fuel);
  EXPECT_EQ(out_of_fuel.error().kind(), ErrorKind::fuel_exhausted) << out_of_fuel.error();

  Instance timed =
      instantiate(link(linker, compile(kChatty, {.timeout = std::chrono::milliseconds(50)})));
  auto past_deadline = timed.call("forever", {});
  ASSERT_FALSE(past_deadline);
  EXPECT_EQ(past_deadline.error().kind(), ErrorKind::deadline) << past_deadline.error();
  EXPECT_EQ(past_deadline.error().message(), "test.wat: forever: deadline of 50 ms exceeded");
}

}  // namespace
}  // namespace warmpool::wasm
