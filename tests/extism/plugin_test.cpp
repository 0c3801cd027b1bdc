// Plugin on every engine with tests/extism/data/kernel_probe.wat: the kernel's functions, the
// Rust runtime's call semantics, hostile handles, vars, logs, host functions and the pool
// lifecycle's isolation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "one_instance_pool.hpp"
#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

const std::string kProbe = std::string(WARMPOOL_EXTISM_TEST_DATA) + "/kernel_probe.wat";

class PluginTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  PluginOptions options() const { return {.engine = *wasm::Engine::named(GetParam())}; }

  Plugin probe(Manifest manifest, PluginOptions o) {
    auto plugin = Plugin::create(manifest, std::move(o));
    if (!plugin) throw std::runtime_error(plugin.error().message());
    return std::move(*plugin);
  }
  Plugin probe(PluginOptions o) { return probe(*Manifest::load_file(kProbe), std::move(o)); }
  Plugin probe() { return probe(options()); }
};

TEST_P(PluginTest, EchoesInputOfAnySize) {
  Plugin plugin = probe();
  EXPECT_EQ(plugin.call("echo", "hello world").value(), "hello world");
  EXPECT_EQ(plugin.call("echo", "").value(), "");
  std::string big(300'000, 'x');
  EXPECT_EQ(plugin.call("echo", big).value(), big);
}

TEST_P(PluginTest, PluginErrorIsItsOwnMessageAndTheInstanceStaysUsable) {
  Plugin plugin = probe();
  auto out = plugin.call("fail", "it went wrong");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::plugin);
  EXPECT_EQ(out.error().message(), "it went wrong");
  EXPECT_EQ(out.error().return_code(), 1);
  EXPECT_TRUE(plugin.healthy());
  EXPECT_EQ(plugin.call("echo", "again").value(), "again");
}

TEST_P(PluginTest, NonZeroReturnCodeFailsTheCall) {
  Plugin plugin = probe();
  auto out = plugin.call("exit_code", "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message(), "Returned non-zero exit code: 7");
  EXPECT_EQ(out.error().return_code(), 7);
}

TEST_P(PluginTest, UnknownOrUncallableFunctionIsNotFound) {
  Plugin plugin = probe();
  EXPECT_FALSE(plugin.function_exists("nope"));
  EXPECT_FALSE(plugin.function_exists("not_callable"));
  EXPECT_TRUE(plugin.function_exists("echo"));
  auto out = plugin.call("not_callable", "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::not_found);
  EXPECT_EQ(out.error().message(), "Function not found: not_callable");
}

TEST_P(PluginTest, TrapPoisonsTheInstanceAndLaterCallsSayWhy) {
  Plugin plugin = probe();
  auto out = plugin.call("trap", "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::trap);
  EXPECT_FALSE(plugin.healthy());
  auto again = plugin.call("echo", "x");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("stopped by an earlier call"), std::string::npos);
  EXPECT_NE(again.error().message().find("unreachable"), std::string::npos);
}

TEST_P(PluginTest, HostileHandlesAreAnsweredSafely) {
  Manifest manifest = *Manifest::load_file(kProbe);
  manifest.max_pages = 4;  // kernel memory capped at 256 KiB
  Plugin plugin = probe(manifest, options());
  auto out = plugin.call("hostile", "");
  ASSERT_FALSE(out);  // the last abuse: output_set far outside kernel memory
  EXPECT_EQ(out.error().kind(), ErrorKind::plugin) << out.error();
  EXPECT_NE(out.error().message().find("outside kernel memory"), std::string::npos);
  EXPECT_TRUE(plugin.healthy());
  EXPECT_EQ(plugin.call("echo", std::string(100'000, 'y')).value().size(), 100'000u);
  // Past the cap, alloc returns 0 and the plugin outputs nothing.
  EXPECT_EQ(plugin.call("echo", std::string(300'000, 'z')).value(), "");
}

TEST_P(PluginTest, ConfigValuesAndAbsentKeys) {
  Manifest manifest = *Manifest::load_file(kProbe);
  manifest.config = {{"greeting", "Howdy"}, {"empty", ""}};
  Plugin plugin = probe(manifest, options());
  EXPECT_EQ(plugin.call("config", "greeting").value(), "Howdy");
  EXPECT_EQ(plugin.call("config", "empty").value(), "");
  EXPECT_EQ(plugin.call("config", "missing").value(), "");
}

TEST_P(PluginTest, VarsPersistWithinAnInstanceAndResetClearsThem) {
  Plugin plugin = probe();
  EXPECT_EQ(plugin.call("swap_var", "one").value(), "");
  EXPECT_EQ(plugin.call("swap_var", "two").value(), "one");
  EXPECT_EQ(plugin.call("count_calls", "").value(), "1");
  ASSERT_TRUE(plugin.reset());
  EXPECT_EQ(plugin.call("swap_var", "three").value(), "");
  EXPECT_EQ(plugin.call("count_calls", "").value(), "1");
}

TEST_P(PluginTest, VarStoreIsBoundedByMaxVarBytes) {
  Manifest manifest = *Manifest::load_file(kProbe);
  manifest.max_var_bytes = 8;
  Plugin bounded = probe(manifest, options());
  EXPECT_TRUE(bounded.call("swap_var", "12345678"));
  auto too_big = bounded.call("swap_var", "123456789");
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message().find("Variable store is full"), std::string::npos);
  manifest.max_var_bytes = 0;
  auto disabled = probe(manifest, options()).call("swap_var", "x");
  ASSERT_FALSE(disabled);
  EXPECT_NE(disabled.error().message().find("Vars are disabled by this host"), std::string::npos);
}

TEST_P(PluginTest, LogLinesAtOrAboveTheLevelReachTheSink) {
  std::vector<std::string> lines;
  PluginOptions o = options();
  o.log_level = LogLevel::info;
  o.log_sink = [&](LogLevel level, std::string_view message) {
    lines.push_back(std::string(to_string(level)) + ":" + std::string(message));
  };
  Plugin plugin = probe(o);
  ASSERT_TRUE(plugin.call("log", "hello"));
  EXPECT_EQ(lines, std::vector<std::string>{"info:hello"});
  o.log_level = LogLevel::warn;
  Plugin quieter = probe(o);
  ASSERT_TRUE(quieter.call("log", "dropped"));
  EXPECT_EQ(lines.size(), 1u);
}

TEST_P(PluginTest, HostFunctionsReadBlocksAndReturnNewOnesWithTheCallContext) {
  constexpr std::string_view kShout = R"((module
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
    (import "extism:host/env" "length" (func $length (param i64) (result i64)))
    (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
    (import "extism:host/user" "shout" (func $shout (param i64) (result i64)))
    (func (export "run") (result i32)
      (local $h i64)
      (local.set $h (call $alloc (i64.const 2)))
      (call $store_u8 (local.get $h) (i32.const 104))
      (call $store_u8 (i64.add (local.get $h) (i64.const 1)) (i32.const 105))
      (local.set $h (call $shout (local.get $h)))
      (call $output_set (local.get $h) (call $length (local.get $h)))
      (i32.const 0))))";
  PluginOptions o = options();
  o.host_functions.push_back(
      {"extism:host/user", "shout",
       wasm::HostFunction::wrap([](wasm::Caller& caller, std::int64_t handle) {
         Kernel& kernel = *Kernel::of(caller);
         std::string text(kernel.text(static_cast<Handle>(handle)));
         for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         text += *static_cast<const std::string*>(kernel.user_context());
         return static_cast<std::int64_t>(kernel.allocate_bytes(text));
       })});
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(kShout.data()), kShout.size());
  Plugin plugin = probe(Manifest::from_wasm(bytes, "shout.wat"), o);
  std::string suffix = "!";
  EXPECT_EQ(plugin.call("run", "", &suffix).value(), "HI!");
}

TEST_P(PluginTest, PoolIsolationUnderEachRecycleMode) {
  auto compiled = CompiledPlugin::compile(*Manifest::load_file(kProbe), options());
  ASSERT_TRUE(compiled) << compiled.error();
  EXPECT_EQ(test::outputs_of_checkouts(*compiled, Recycle::Reuse, "count_calls", 3), "123");
  EXPECT_EQ(test::outputs_of_checkouts(*compiled, Recycle::Reset, "count_calls", 3), "111");
  EXPECT_EQ(test::outputs_of_checkouts(*compiled, Recycle::Fresh, "count_calls", 3), "111");
}

TEST_P(PluginTest, ModulesOfOneManifestCallEachOtherAndShareTheKernel) {
  constexpr std::string_view kLib = R"((module
    (import "extism:host/env" "length" (func $length (param i64) (result i64)))
    (func (export "length_plus_one") (param i64) (result i64)
      (i64.add (call $length (local.get 0)) (i64.const 1)))))";
  constexpr std::string_view kMain = R"((module
    (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
    (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
    (import "lib" "length_plus_one" (func $length_plus_one (param i64) (result i64)))
    (func (export "run") (result i32)
      (local $h i64)
      (local.set $h (call $alloc (i64.const 1)))
      (call $store_u8 (local.get $h)
        (i32.add (i32.const 48) (i32.wrap_i64 (call $length_plus_one (call $input_offset)))))
      (call $output_set (local.get $h) (i64.const 1))
      (i32.const 0))))";
  auto bytes = [](std::string_view text) {
    return std::vector<std::uint8_t>(text.begin(), text.end());
  };
  Manifest manifest;
  manifest.wasm = {{"lib", bytes(kLib), "lib.wat"}, {"main", bytes(kMain), "main.wat"}};
  Plugin plugin = probe(manifest, options());
  EXPECT_EQ(plugin.call("run", "abcd").value(), "5");  // lib read main's input block
  ASSERT_TRUE(plugin.reset());
  EXPECT_EQ(plugin.call("run", "ab").value(), "3");

  manifest.wasm[0].name = "other";
  auto unlinked = Plugin::create(manifest, options());
  ASSERT_FALSE(unlinked);
  EXPECT_EQ(unlinked.error().kind(), ErrorKind::link);
  manifest.wasm[0] = {"lib", bytes(R"((module (func (export "length_plus_one"))))"), "lib.wat"};
  auto mistyped = Plugin::create(manifest, options());
  ASSERT_FALSE(mistyped);
  EXPECT_NE(mistyped.error().message().find("exports with type () -> ()"), std::string::npos)
      << mistyped.error();
}

TEST_P(PluginTest, StartRunsOnlyWhenCalledAndProcExitZeroIsSuccess) {
  constexpr std::string_view kCommand = R"((module
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
    (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
    (global $started (mut i32) (i32.const 0))
    (func (export "_start")
      (global.set $started (i32.const 1))
      (call $proc_exit (i32.const 0)))
    (func (export "fail_exit") (result i32)
      (call $proc_exit (i32.const 3))
      (i32.const 0))
    (func (export "started") (result i32)
      (local $h i64)
      (local.set $h (call $alloc (i64.const 1)))
      (call $store_u8 (local.get $h) (i32.add (i32.const 48) (global.get $started)))
      (call $output_set (local.get $h) (i64.const 1))
      (i32.const 0))))";
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(kCommand.data()), kCommand.size());
  PluginOptions o = options();
  o.wasi = true;
  Plugin plugin = probe(Manifest::from_wasm(bytes, "command.wat"), o);
  EXPECT_EQ(plugin.call("started", "").value(), "0");  // _start never runs implicitly
  EXPECT_EQ(plugin.call("_start", "").value(), "");    // proc_exit(0): success
  EXPECT_TRUE(plugin.healthy());
  EXPECT_EQ(plugin.call("started", "").value(), "0");  // then a fresh instance, as in Rust
  auto failed = plugin.call("fail_exit", "");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("3"), std::string::npos) << failed.error();
}

INSTANTIATE_TEST_SUITE_P(Engines, PluginTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
