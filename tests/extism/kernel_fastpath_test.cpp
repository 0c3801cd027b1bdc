// Plugin::call looks an export up once for a run of calls to the same function: calls that
// alternate between exports of different shapes, names that are not callable, and a reset in
// between still reach the function named, on every engine.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

// `one` () -> (i32) outputs "1"; `two` () -> () outputs "2"; `takes_argument` is not callable.
constexpr std::string_view kExportsWat = R"((module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (func $output_byte (param $byte i32) (local $handle i64)
    (local.set $handle (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $handle) (local.get $byte))
    (call $output_set (local.get $handle) (i64.const 1)))
  (func (export "one") (result i32) (call $output_byte (i32.const 49)) (i32.const 0))
  (func (export "two") (call $output_byte (i32.const 50)))
  (func (export "takes_argument") (param i32) (result i32) (i32.const 0)))
)";

class KernelFastPathTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  Plugin plugin() const {
    auto created = Plugin::create(
        Manifest::from_wasm(std::span(reinterpret_cast<const std::uint8_t*>(kExportsWat.data()),
                                      kExportsWat.size()),
                            "exports.wat"),
        {.engine = *wasm::Engine::named(GetParam())});
    EXPECT_TRUE(created.has_value()) << created.error().message();
    return std::move(*created);
  }
};

std::string output_of(Plugin& plugin, std::string_view function) {
  auto output = plugin.call(function, std::string_view());
  if (!output) return "error: " + output.error().message();
  return *output;
}

TEST_P(KernelFastPathTest, AlternatingExportsEachReachTheFunctionNamed) {
  Plugin p = plugin();
  EXPECT_EQ(output_of(p, "one"), "1");
  EXPECT_EQ(output_of(p, "one"), "1");
  EXPECT_EQ(output_of(p, "two"), "2");
  EXPECT_EQ(output_of(p, "one"), "1");
  EXPECT_EQ(output_of(p, "missing"), "error: Function not found: missing");
  EXPECT_EQ(output_of(p, "one"), "1");
  EXPECT_EQ(output_of(p, "takes_argument"), "error: Function not found: takes_argument");
  EXPECT_EQ(output_of(p, "two"), "2");
  ASSERT_TRUE(p.reset());
  EXPECT_EQ(output_of(p, "two"), "2");
  EXPECT_EQ(output_of(p, "one"), "1");
}

TEST_P(KernelFastPathTest, AMovedPluginCallsTheSameExports) {
  Plugin first = plugin();
  EXPECT_EQ(output_of(first, "two"), "2");
  Plugin second = std::move(first);
  EXPECT_EQ(output_of(second, "two"), "2");
  EXPECT_EQ(output_of(second, "one"), "1");
}

auto engine_name = [](const auto& info) { return std::string(info.param); };
INSTANTIATE_TEST_SUITE_P(Engines, KernelFastPathTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);

}  // namespace
}  // namespace warmpool::extism
