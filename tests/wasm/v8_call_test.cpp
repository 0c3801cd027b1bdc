// Instance::call and Instance::call_bytes on V8: numbers in and out, the bytes ABI, WASI output.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "v8_test_support.hpp"

namespace warmpool::wasm::v8 {
namespace {

using testing::bytes;
using testing::plugin;
using testing::wat;

constexpr std::string_view kNumbers = R"((module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func (export "half") (param f32) (result f32) (f32.div (local.get 0) (f32.const 2)))
  (func (export "hyp") (param f64 f64) (result f64)
    (f64.sqrt (f64.add (f64.mul (local.get 0) (local.get 0)) (f64.mul (local.get 1) (local.get 1)))))
  (func (export "swap") (param i64 i32) (result i32 i64) (local.get 1) (local.get 0))
  (func (export "nothing"))))";

TEST(V8Call, NumbersOfEveryTypeRoundTrip) {
  auto instance = Instance::instantiate(wat(kNumbers));
  ASSERT_TRUE(instance) << instance.error();

  auto sum = instance->call("add", std::vector<Value>{std::int32_t{40}, std::int32_t{2}});
  ASSERT_TRUE(sum) << sum.error();
  EXPECT_EQ(*sum, std::vector<Value>{std::int32_t{42}});

  auto wrap = instance->call(
      "add", std::vector<Value>{std::numeric_limits<std::int32_t>::max(), std::int32_t{1}});
  ASSERT_TRUE(wrap);
  EXPECT_EQ(std::get<std::int32_t>(wrap->at(0)), std::numeric_limits<std::int32_t>::min());

  // Beyond 2^53: only exact if i64 travels as a BigInt, not as a double.
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  auto product = instance->call("mul64", std::vector<Value>{big, std::int64_t{-3}});
  ASSERT_TRUE(product) << product.error();
  EXPECT_EQ(std::get<std::int64_t>(product->at(0)), big * -3);

  auto half = instance->call("half", std::vector<Value>{1.5f});
  ASSERT_TRUE(half);
  EXPECT_EQ(std::get<float>(half->at(0)), 0.75f);

  auto hyp = instance->call("hyp", std::vector<Value>{3.0, 4.0});
  ASSERT_TRUE(hyp);
  EXPECT_DOUBLE_EQ(std::get<double>(hyp->at(0)), 5.0);

  auto swapped = instance->call("swap", std::vector<Value>{std::int64_t{-7}, std::int32_t{9}});
  ASSERT_TRUE(swapped) << swapped.error();
  EXPECT_EQ(*swapped, (std::vector<Value>{std::int32_t{9}, std::int64_t{-7}}));

  auto nothing = instance->call("nothing", {});
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
  EXPECT_TRUE(instance->healthy());
}

TEST(V8Call, FibPluginComputesTheRightAnswer) {
  auto instance = Instance::instantiate(plugin("fib"));
  ASSERT_TRUE(instance) << instance.error();
  auto r = instance->call("fib", std::vector<Value>{std::int32_t{25}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, std::vector<Value>{std::int64_t{75025}});
}

TEST(V8Call, UnknownExportIsNamedWithTheAvailableOnes) {
  auto instance = Instance::instantiate(wat(kNumbers, {}, "n.wasm"));
  ASSERT_TRUE(instance);
  auto r = instance->call("fob", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::abi);
  EXPECT_EQ(r.error().message(),
            "n.wasm: export 'fob' not found (exports: add, mul64, half, hyp, swap, nothing)");
}

TEST(V8Call, ArgumentsOfTheWrongTypeAreRejectedBeforeTheCall) {
  auto instance = Instance::instantiate(wat(kNumbers, {}, "n.wasm"));
  ASSERT_TRUE(instance);
  auto r = instance->call("add", std::vector<Value>{std::int64_t{1}, std::int32_t{2}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::abi);
  EXPECT_EQ(r.error().message(),
            "n.wasm: add: expects (i32, i32) -> (i32), called with (i64, i32)");
  EXPECT_TRUE(instance->healthy());
}

TEST(V8CallBytes, EchoAndUpperTransformTheirInput) {
  auto echo = Instance::instantiate(plugin("echo"));
  ASSERT_TRUE(echo) << echo.error();
  std::string big(100'000, 'x');
  for (std::string input : {std::string("hello"), std::string(), big}) {
    auto out = echo->call_bytes("echo", bytes(input));
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(out->output, input);
  }

  auto upper = Instance::instantiate(plugin("upper"));
  ASSERT_TRUE(upper) << upper.error();
  auto out = upper->call_bytes("upper", bytes("Hello, Wasm!"));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->output, "HELLO, WASM!");
}

TEST(V8CallBytes, WasiStdoutIsCapturedPerCall) {
  auto hello = Instance::instantiate(plugin("hello"));
  ASSERT_TRUE(hello) << hello.error();
  auto first = hello->call_bytes("hello", bytes("V8"));
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->output, "Hello, V8!");
  EXPECT_EQ(first->stdout_text, "Hello, V8!\n");
  EXPECT_EQ(hello->last_stdout(), "Hello, V8!\n");

  auto second = hello->call_bytes("hello", bytes(""));
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(second->stdout_text, "Hello, world!\n");
}

TEST(V8CallBytes, NumericExportIsNotABytesExport) {
  auto instance = Instance::instantiate(plugin("fib"));
  ASSERT_TRUE(instance);
  auto out = instance->call_bytes("fib", bytes("x"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::abi);
  EXPECT_NE(out.error().message().find("'fib' is not a bytes export"), std::string::npos)
      << out.error();
}

TEST(V8CallBytes, MissingAllocatorIsAnAbiError) {
  auto instance = Instance::instantiate(wat(R"((module (memory (export "memory") 1)
      (func (export "f") (param i32 i32) (result i64) i64.const 0)))",
                                            {}, "noalloc.wasm"));
  ASSERT_TRUE(instance);
  auto out = instance->call_bytes("f", bytes("x"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::abi);
  EXPECT_NE(out.error().message().find("wp_alloc"), std::string::npos) << out.error();
}

TEST(V8CallBytes, OutputOutsideMemoryIsAnAbiError) {
  auto instance = Instance::instantiate(wat(R"((module (memory (export "memory") 1)
      (func (export "wp_alloc") (param i32) (result i32) i32.const 16)
      (func (export "f") (param i32 i32) (result i64) i64.const 0x0000fff000000100)))",
                                            {}, "liar.wasm"));
  ASSERT_TRUE(instance);
  auto out = instance->call_bytes("f", bytes("x"));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::abi);
  EXPECT_NE(out.error().message().find("outside memory of 65536 bytes"), std::string::npos)
      << out.error();
}

constexpr std::string_view kExit = R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "wp_alloc") (param i32) (result i32) i32.const 16)
  (func (export "quit") (param i32) (call $exit (local.get 0)) unreachable)
  (func (export "quit_bytes") (param i32 i32) (result i64) (call $exit (i32.const 0)) unreachable)))";

TEST(V8Call, ProcExitEndsTheCallAndSpendsTheInstance) {
  auto module = wat(kExit, {}, "exit.wasm");
  auto ok = Instance::instantiate(module);
  ASSERT_TRUE(ok) << ok.error();
  auto r = ok->call("quit", std::vector<Value>{std::int32_t{0}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->empty());
  EXPECT_FALSE(ok->healthy());

  auto failing = Instance::instantiate(module);
  ASSERT_TRUE(failing);
  auto e = failing->call("quit", std::vector<Value>{std::int32_t{3}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().kind(), ErrorKind::trap);
  EXPECT_EQ(e.error().message(), "exit.wasm: quit: exited with code 3");
  EXPECT_FALSE(failing->healthy());

  auto bytes_exit = Instance::instantiate(module);
  ASSERT_TRUE(bytes_exit);
  auto out = bytes_exit->call_bytes("quit_bytes", bytes("in"));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->output, "");
}

}  // namespace
}  // namespace warmpool::wasm::v8
