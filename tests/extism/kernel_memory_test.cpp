// Kernel memory in the kernel module's wasm memory (src/extism/kernel_module.hpp), on every
// engine: a call sees nothing of the previous call's blocks, kernel memory grows past its
// first page and stays consistent across calls and a reset, and a host function's allocations
// land where the plugin's loads find them.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

// write: a 16-byte block holding a marker; peek: the word at 8 (the first block's place) before
// and after allocating a block there again, 1 byte each ('0' zero, 'X' not); grow: 12 blocks of
// 40,000 bytes, each written at its last byte and read back, outputs the count of good ones as
// one digit ("c" for 12); shout: the input through the host's `upper`, read back with load_u8.
constexpr std::string_view kWat = R"((module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "upper" (func $upper (param i64) (result i64)))
  (func $flag (param $zero i32) (result i32)
    (select (i32.const 48) (i32.const 88) (local.get $zero)))
  (func (export "write") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 16)))
    (call $store_u64 (local.get $h) (i64.const 0x1122334455667788))
    (call $store_u64 (i64.add (local.get $h) (i64.const 8)) (i64.const -1))
    (i32.const 0))
  (func (export "peek") (result i32) (local $before i32) (local $h i64) (local $out i64)
    (local.set $before (i64.eqz (call $load_u64 (i64.const 8))))
    (local.set $h (call $alloc (i64.const 16)))
    (local.set $out (call $alloc (i64.const 2)))
    (call $store_u8 (local.get $out) (call $flag (local.get $before)))
    (call $store_u8 (i64.add (local.get $out) (i64.const 1))
                    (call $flag (i64.eqz (i64.or (call $load_u64 (local.get $h))
                                                 (call $load_u64 (i64.add (local.get $h) (i64.const 8)))))))
    (call $output_set (local.get $out) (i64.const 2))
    (i32.const 0))
  (func (export "grow") (result i32) (local $i i32) (local $good i32) (local $h i64) (local $out i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 12)))
        (local.set $h (call $alloc (i64.const 40000)))
        (call $store_u8 (i64.add (local.get $h) (i64.const 39999)) (i32.add (local.get $i) (i32.const 1)))
        (if (i32.and (i64.eq (call $length (local.get $h)) (i64.const 40000))
                     (i32.eq (call $load_u8 (i64.add (local.get $h) (i64.const 39999)))
                             (i32.add (local.get $i) (i32.const 1))))
          (then (local.set $good (i32.add (local.get $good) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $out (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $out) (i32.add (i32.const 87) (local.get $good)))
    (call $output_set (local.get $out) (i64.const 1))
    (i32.const 0))
  (func (export "shout") (result i32) (local $h i64) (local $n i64) (local $i i64) (local $out i64)
    (local.set $h (call $upper (call $input_offset)))
    (local.set $n (call $length (local.get $h)))
    (local.set $out (call $alloc (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (call $store_u8 (i64.add (local.get $out) (local.get $i))
                        (call $load_u8 (i64.add (local.get $h) (local.get $i))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (call $output_set (local.get $out) (local.get $n))
    (i32.const 0))
))";

class KernelMemoryTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  Plugin plugin() const {
    PluginOptions options{.engine = *wasm::Engine::named(GetParam())};
    options.host_functions.push_back(
        {"extism:host/user", "upper",
         wasm::HostFunction::wrap([](wasm::Caller& caller, std::int64_t text) -> std::int64_t {
           Kernel& kernel = *Kernel::of(caller);
           std::string loud(kernel.text(static_cast<Handle>(text)));
           for (char& c : loud) c = static_cast<char>(c - 32 * (c >= 'a' && c <= 'z'));
           return static_cast<std::int64_t>(kernel.allocate_bytes(loud));
         })});
    auto created = Plugin::create(
        Manifest::from_wasm(
            std::span(reinterpret_cast<const std::uint8_t*>(kWat.data()), kWat.size()),
            "kernel_memory.wat"),
        std::move(options));
    EXPECT_TRUE(created.has_value()) << created.error().message();
    return std::move(*created);
  }
};

std::string output_of(Plugin& plugin, std::string_view function, std::string_view input = {}) {
  auto output = plugin.call(function, input);
  if (!output) return "error: " + output.error().message();
  return *output;
}

TEST_P(KernelMemoryTest, ACallSeesNothingOfThePreviousCallsBlocks) {
  Plugin p = plugin();
  EXPECT_EQ(output_of(p, "write"), "");
  EXPECT_EQ(output_of(p, "peek"), "00");
  EXPECT_EQ(output_of(p, "write"), "");
  EXPECT_EQ(output_of(p, "peek"), "00");
}

TEST_P(KernelMemoryTest, KernelMemoryGrowsAndStaysConsistentAcrossCallsAndAReset) {
  Plugin p = plugin();
  EXPECT_EQ(output_of(p, "grow"), "c");
  EXPECT_EQ(output_of(p, "peek"), "00");
  EXPECT_EQ(output_of(p, "grow"), "c");
  ASSERT_TRUE(p.reset());
  EXPECT_EQ(output_of(p, "grow"), "c");
  EXPECT_EQ(output_of(p, "shout", "after a reset"), "AFTER A RESET");
}

TEST_P(KernelMemoryTest, AHostFunctionsBlockIsWhereThePluginsLoadsFindIt) {
  Plugin p = plugin();
  EXPECT_EQ(output_of(p, "shout", "quiet words"), "QUIET WORDS");
  EXPECT_EQ(output_of(p, "grow"), "c");  // grown: the host's next block lies past the first page
  EXPECT_EQ(output_of(p, "shout", std::string(70'000, 'a')), std::string(70'000, 'A'));
}

auto engine_name = [](const auto& info) { return std::string(info.param); };
INSTANTIATE_TEST_SUITE_P(Engines, KernelMemoryTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);

}  // namespace
}  // namespace warmpool::extism
