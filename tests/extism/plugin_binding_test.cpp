// Plugin::bind_to_this_thread and extism::checkout_bound on every engine (wabt: the binding
// changes nothing but is checked the same way): bound calls give the unbound outputs, vars
// included, a plugin of two modules binds both, other threads are refused, the misuse that
// cannot be answered stops the process, and 8 threads take bound checkouts of one pool.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;
using Pool = InstancePool<Plugin, Error, PluginLifecycle>;

const fs::path kProbe = fs::path(WARMPOOL_EXTISM_TEST_DATA) / "kernel_probe.wat";
const fs::path kSharedPlugins = fs::path(WARMPOOL_EXTISM_SHARED_DIR) / "plugins";

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kStressCalls = 2'000;
#else
constexpr int kStressCalls = 40'000;
#endif

class PluginBinding : public ::testing::TestWithParam<std::string_view> {
 protected:
  CompiledPlugin compiled(const Manifest& manifest, bool wasi = false) const {
    auto c = CompiledPlugin::compile(manifest,
                                     {.engine = *wasm::Engine::named(GetParam()), .wasi = wasi});
    if (!c) throw std::runtime_error(c.error().message());
    return std::move(*c);
  }
  CompiledPlugin probe() const { return compiled(*Manifest::load_file(kProbe)); }

  static Plugin instance(const CompiledPlugin& c) {
    auto plugin = c.instantiate();
    if (!plugin) throw std::runtime_error(plugin.error().message());
    return std::move(*plugin);
  }

  // go-sdk's main.wasm importing module "lib" from lib.wasm (WASI on).
  std::optional<CompiledPlugin> two_modules() const {
    Manifest manifest;
    for (const char* name : {"lib", "main"}) {
      const fs::path path = kSharedPlugins / (std::string(name) + ".wasm");
      std::ifstream in(path, std::ios::binary);
      if (!in) return std::nullopt;
      manifest.wasm.push_back({name,
                               std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {}),
                               path.filename().string()});
    }
    return compiled(manifest, /*wasi=*/true);
  }
};

// A fixed run of calls exercising output, vars, a plugin error and reset.
std::vector<std::string> run_of_calls(Plugin& plugin) {
  std::vector<std::string> seen;
  auto record = [&](std::string_view function, std::string_view input) {
    auto out = plugin.call(function, input);
    seen.push_back(out ? *out
                       : "error " + std::string(to_string(out.error().kind())) + ": " +
                             out.error().message());
  };
  record("echo", "hello world");
  record("swap_var", "one");
  record("swap_var", "two");
  record("count_calls", "");
  record("count_calls", "");
  record("fail", "it went wrong");
  record("echo", std::string(70'000, 'x'));
  seen.push_back(plugin.reset() ? "reset" : "reset failed");
  record("swap_var", "three");
  record("count_calls", "");
  return seen;
}

TEST_P(PluginBinding, BoundCallsGiveTheUnboundOutputs) {
  const CompiledPlugin c = probe();
  Plugin unbound = instance(c);
  const std::vector<std::string> expected = run_of_calls(unbound);
  EXPECT_EQ(expected[2], "one");
  EXPECT_EQ(expected[4], "2");
  EXPECT_EQ(expected[5], "error plugin: it went wrong");
  EXPECT_EQ(expected.back(), "1");

  Plugin plugin = instance(c);
  auto outer = plugin.bind_to_this_thread();
  ASSERT_TRUE(outer) << outer.error();
  {
    auto inner = plugin.bind_to_this_thread();  // bindings nest
    ASSERT_TRUE(inner) << inner.error();
    EXPECT_EQ(run_of_calls(plugin), expected);
  }
  EXPECT_EQ(plugin.call("count_calls", "").value(), "2");  // still bound by `outer`
  Plugin moved = std::move(plugin);                        // a bound plugin moves within its thread
  EXPECT_EQ(moved.call("count_calls", "").value(), "3");
  { auto ending = std::move(*outer); }  // before `moved` goes
}

TEST_P(PluginBinding, AnotherThreadIsRefusedUntilTheBindingEnds) {
  Plugin plugin = instance(probe());
  std::optional<Plugin::ThreadBinding> binding;
  binding.emplace(plugin.bind_to_this_thread().value());
  EXPECT_EQ(plugin.call("count_calls", "").value(), "1");
  std::thread([&] {
    auto out = plugin.call("count_calls", "");
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().kind(), ErrorKind::trap);
    EXPECT_EQ(out.error().message(),
              "count_calls: plugin is bound to another thread (Plugin::bind_to_this_thread); "
              "call it there, or end the binding first");
    auto bound_there = plugin.bind_to_this_thread();
    ASSERT_FALSE(bound_there);
    EXPECT_NE(bound_there.error().message().find("bound to another thread"), std::string::npos)
        << bound_there.error();
  }).join();
  EXPECT_TRUE(plugin.healthy());
  EXPECT_EQ(plugin.call("count_calls", "").value(), "2");  // the refused call changed nothing
  binding.reset();
  std::thread([&] {
    auto bound_there = plugin.bind_to_this_thread();
    ASSERT_TRUE(bound_there) << bound_there.error();
    EXPECT_EQ(plugin.call("count_calls", "").value(), "3");
  }).join();
}

TEST_P(PluginBinding, APluginOfTwoModulesBindsBothAndKeepsTheBindingAcrossItsRebuild) {
  auto c = two_modules();
  if (!c) GTEST_SKIP() << kSharedPlugins << " has no main.wasm and lib.wasm";
  Plugin plugin = instance(*c);
  EXPECT_EQ(plugin.call("run_test", "benjamin").value(), "Hello, BENJAMIN");
  auto binding = plugin.bind_to_this_thread();
  ASSERT_TRUE(binding) << binding.error();
  EXPECT_EQ(plugin.call("run_test", "benjamin").value(), "Hello, BENJAMIN");
  ASSERT_TRUE(plugin.reset());  // every module built again, and bound again
  EXPECT_EQ(plugin.call("run_test", "ada").value(), "Hello, ADA");
  std::thread([&] {
    auto out = plugin.call("run_test", "eve");
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().message().find("bound to another thread"), std::string::npos);
  }).join();
}

// After `_start` (proc_exit(0)) the next call gets a new instance, as in the Rust runtime: made
// while bound, it is bound too, so another thread stays refused.
TEST_P(PluginBinding, TheInstanceMadeAfterStartIsBoundToo) {
  constexpr std::string_view kCommand = R"((module
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
    (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
    (global $started (mut i32) (i32.const 0))
    (func (export "_start")
      (global.set $started (i32.const 1))
      (call $proc_exit (i32.const 0)))
    (func (export "started") (result i32)
      (local $h i64)
      (local.set $h (call $alloc (i64.const 1)))
      (call $store_u8 (local.get $h) (i32.add (i32.const 48) (global.get $started)))
      (call $output_set (local.get $h) (i64.const 1))
      (i32.const 0))))";
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(kCommand.data()), kCommand.size());
  Plugin plugin = instance(compiled(Manifest::from_wasm(bytes, "command.wat"), /*wasi=*/true));
  auto binding = plugin.bind_to_this_thread();
  ASSERT_TRUE(binding) << binding.error();
  EXPECT_EQ(plugin.call("_start", "").value(), "");
  EXPECT_EQ(plugin.call("started", "").value(), "0");  // a new instance
  EXPECT_EQ(plugin.call("_start", "").value(), "");
  std::thread([&] {
    auto out = plugin.call("started", "");
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().message().find("bound to another thread"), std::string::npos);
  }).join();
  EXPECT_EQ(plugin.call("started", "").value(), "0");
}

TEST_P(PluginBinding, BoundCheckoutsKeepEachRecycleModesVars) {
  const CompiledPlugin c = probe();
  for (auto [recycle, expected] :
       {std::pair{Recycle::Reuse, "123"}, std::pair{Recycle::Reset, "111"},
        std::pair{Recycle::Fresh, "111"}}) {
    auto pool = Pool::create(
        {.max_instances = 1, .recycle = recycle, .acquire_timeout = std::chrono::seconds(30)},
        [c] { return c.instantiate(); });
    ASSERT_TRUE(pool) << pool.error();
    std::string seen;
    for (int i = 0; i < 3; ++i) {
      auto held = checkout_bound(*pool);
      ASSERT_TRUE(held) << held.error();
      seen += (*held)->call("count_calls", "").value_or("<error>");
    }
    EXPECT_EQ(seen, expected) << "Recycle #" << static_cast<int>(recycle);
  }
}

TEST_P(PluginBinding, MisuseThatCannotBeAnsweredStopsTheProcessWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const CompiledPlugin c = probe();
  EXPECT_DEATH(
      {
        Plugin plugin = instance(c);
        auto binding = plugin.bind_to_this_thread();
        std::thread([moved = std::move(*binding)] {}).join();
      },
      "extism plugin: a thread binding ended on another thread than the one it binds to");
  EXPECT_DEATH(
      {
        Plugin plugin = instance(c);
        auto binding = plugin.bind_to_this_thread();
        Plugin gone = std::move(plugin);
      },
      "extism plugin: plugin destroyed while bound to a thread");
  EXPECT_DEATH(
      {
        Plugin plugin = instance(c);
        auto binding = plugin.bind_to_this_thread();
        std::thread([&] { (void)plugin.reset(); }).join();
      },
      "extism plugin: reset\\(\\) from another thread than the one the plugin is bound to");
  EXPECT_DEATH(
      {
        auto pool = Pool::create({.max_instances = 1}, [c] { return c.instantiate(); });
        auto held = checkout_bound(*pool);
        std::thread([moved = std::move(*held)] {}).join();
      },
      "a bound pool checkout must be released on the thread that took it");
}

// 8 threads take bound checkouts of a Reuse pool of 4 and call count_calls, which counts in a
// guest global: a plugin is never held by two threads at once, each plugin's counts run 1, 2, 3...
// in the order it was used, and they add up to the calls made.
TEST_P(PluginBinding, EightThreadsTakingBoundCheckoutsNeverShareAPlugin) {
  const CompiledPlugin c = probe();
  auto pool = Pool::create({.max_instances = 4,
                            .warm_count = 4,
                            .recycle = Recycle::Reuse,
                            .acquire_timeout = std::chrono::seconds(60)},
                           [c] { return c.instantiate(); });
  ASSERT_TRUE(pool) << pool.error();
  std::mutex mutex;
  std::map<const Plugin*, int> last_count;  // under `mutex`
  std::map<const Plugin*, std::atomic<bool>> in_use;
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        while (next.fetch_add(1) < kStressCalls) {
          auto held = checkout_bound(*pool);
          if (!held) {
            ADD_FAILURE() << "checkout_bound: " << held.error();
            ++failures;
            continue;
          }
          const Plugin* plugin = &held->get();
          std::atomic<bool>* busy;
          {
            std::scoped_lock lock(mutex);
            busy = &in_use[plugin];
          }
          if (busy->exchange(true)) {
            ADD_FAILURE() << "a plugin checked out by two threads at once";
            ++failures;
          }
          auto out = (*held)->call("count_calls", "");
          busy->store(false);
          std::scoped_lock lock(mutex);
          const int expected = ++last_count[plugin];
          // One byte, '0' + count, wrapping at 256.
          if (!out || *out != std::string(1, static_cast<char>('0' + expected))) {
            ADD_FAILURE() << "count_calls gave " << (out ? *out : out.error().message())
                          << ", expected " << expected;
            ++failures;
          }
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(last_count.size(), 4u);
  int total = 0;
  for (const auto& [plugin, count] : last_count) total += count;
  EXPECT_EQ(total, kStressCalls);
}

INSTANTIATE_TEST_SUITE_P(Engines, PluginBinding,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
