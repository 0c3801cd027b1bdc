// warmpool_extism_bench: an unmodified Extism plugin (count_vowels, the Extism repository's
// code.wasm) on every engine of the build, measured the way the official JS host's bench
// (../shared/extism/node-peer/bench.mjs) measures itself, so bench/extism-peer.sh can print the
// ratios of one run:
//
//   <engine>/code_16B_call, code_4KiB_call   pooled checkout + call + release (Reuse: like
//                                            the JS host's one reused plugin), inputs built
//                                            as the peer builds them
//   <engine>/code_16B_call/threads:2         the same from two threads through one pool
//   <engine>/code_16B_held, code_4KiB_held   one checkout held for the whole run: the call alone
//   <engine>/code_16B_bound, code_4KiB_bound the same checkout bound to the thread
//                                            (extism::checkout_bound): what a worker thread
//                                            holding a plugin for many calls pays per call
//   <engine>/code_16B_bound_each             checkout_bound + call + release per call: the
//                                            binding taken and ended each time
//   <engine>/new_instance                    CompiledPlugin::instantiate(): a pool miss from a
//                                            compiled module (the peer's createPlugin from a
//                                            compiled WebAssembly.Module); like the peer, the
//                                            instance's destruction is not timed
//   <engine>/new_instance_and_destroy        the same with the destruction timed
//   <engine>/kernel_call/<import>            one plugin call making 1,000 calls of one import;
//                                            kernel_call_ns is the time per import call with
//                                            the plugin call's own cost spread over them (read
//                                            it next to .../none): what count_vowels pays per
//                                            kernel function, against C++ host functions of
//                                            the same shapes that touch no kernel (user_i32,
//                                            user_i64)
//   <engine>/kernel_call_bound/none          .../none on a plugin bound to the thread: with it,
//                                            what entering and leaving a plugin call costs
//
//   WARMPOOL_EXTISM_PLUGINS=DIR build/<dir>/bench/warmpool_extism_bench
//
// DIR defaults to ../shared/extism/plugins beside the source tree. Without code.wasm there the
// binary says so and exits 0 with no rows.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"

namespace {

namespace ex = warmpool::extism;
namespace fs = std::filesystem;
using Pool = warmpool::InstancePool<ex::Plugin, ex::Error, ex::PluginLifecycle>;

fs::path plugin_dir() {
  if (const char* dir = std::getenv("WARMPOOL_EXTISM_PLUGINS")) return dir;
  return WARMPOOL_EXTISM_DEFAULT_PLUGINS;
}

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  std::fprintf(stderr, "warmpool_extism_bench: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), message.c_str());
  std::exit(1);
}

// The peer's makeInput(n): the pangram repeated to n bytes.
std::string peer_input(std::size_t size) {
  constexpr std::string_view unit = "The quick brown fox jumps over the lazy dog. ";
  std::string input(size, ' ');
  for (std::size_t i = 0; i < size; ++i) input[i] = unit[i % unit.size()];
  return input;
}

const ex::CompiledPlugin& compiled(std::string_view engine_name) {
  static std::mutex mutex;
  static std::map<std::string, ex::CompiledPlugin, std::less<>> by_engine;
  std::scoped_lock lock(mutex);
  if (auto found = by_engine.find(engine_name); found != by_engine.end()) return found->second;
  auto manifest = ex::Manifest::load_file(plugin_dir() / "code.wasm");
  if (!manifest) fail("code.wasm", manifest.error().message());
  auto plugin = ex::CompiledPlugin::compile(
      *manifest, {.engine = *warmpool::wasm::Engine::named(engine_name)});
  if (!plugin) fail("compile", plugin.error().message());
  return by_engine.emplace(std::string(engine_name), std::move(*plugin)).first->second;
}

// One pool per engine, shared by a benchmark's threads (two instances: one per thread).
std::shared_ptr<Pool> pool_for(std::string_view engine_name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Pool>, std::less<>> pools;
  std::scoped_lock lock(mutex);
  if (auto found = pools.find(engine_name); found != pools.end()) return found->second;
  auto pool =
      Pool::create({.max_instances = 2, .warm_count = 2, .recycle = warmpool::Recycle::Reuse},
                   [&plugin = compiled(engine_name)] { return plugin.instantiate(); });
  if (!pool) fail("pool", pool.error().message());
  return pools.emplace(std::string(engine_name), std::make_shared<Pool>(std::move(*pool)))
      .first->second;
}

// Calls `function` once; false, with the benchmark skipped, when the call fails.
bool call_or_skip(benchmark::State& state, ex::Plugin& plugin, const std::string& function,
                  const std::string& input) {
  auto output = plugin.call(function, input);
  if (!output) {
    state.SkipWithError(output.error().message().c_str());
    return false;
  }
  benchmark::DoNotOptimize(output->data());
  return true;
}

// A checkout (made by `checkout_from(pool)`) and one count_vowels call per iteration.
template <class CheckoutFrom>
void call_per_checkout(benchmark::State& state, const std::string& engine_name,
                       std::size_t input_size, CheckoutFrom checkout_from) {
  const std::shared_ptr<Pool> pool = pool_for(engine_name);
  const std::string input = peer_input(input_size);
  for (auto _ : state) {
    auto plugin = checkout_from(*pool);
    if (!plugin) {
      state.SkipWithError(plugin.error().message().c_str());
      return;
    }
    if (!call_or_skip(state, plugin->get(), "count_vowels", input)) return;
  }
  state.SetItemsProcessed(state.iterations());
}

void pooled_call(benchmark::State& state, std::string engine_name, std::size_t input_size) {
  call_per_checkout(state, engine_name, input_size, [](Pool& pool) { return pool.checkout(); });
}

// Binds `plugin` to this thread into `binding`; false, with the benchmark skipped, when it fails.
bool bind(benchmark::State& state, ex::Plugin& plugin,
          std::optional<ex::Plugin::ThreadBinding>& binding) {
  auto made = plugin.bind_to_this_thread();
  if (!made) {
    state.SkipWithError(made.error().message().c_str());
    return false;
  }
  binding.emplace(std::move(*made));
  return true;
}

void bound_each_call(benchmark::State& state, std::string engine_name, std::size_t input_size) {
  call_per_checkout(state, engine_name, input_size,
                    [](Pool& pool) { return ex::checkout_bound(pool); });
}

// One checkout for the run, bound to the thread or not: the difference is the binding's saving.
void held_call(benchmark::State& state, std::string engine_name, std::size_t input_size,
               bool bound) {
  const std::shared_ptr<Pool> pool = pool_for(engine_name);
  const std::string input = peer_input(input_size);
  auto plugin = pool->checkout();
  if (!plugin) {
    state.SkipWithError(plugin.error().message().c_str());
    return;
  }
  std::optional<ex::Plugin::ThreadBinding> binding;
  if (bound && !bind(state, plugin->get(), binding)) return;
  for (auto _ : state) {
    if (!call_or_skip(state, plugin->get(), "count_vowels", input)) return;
  }
  state.SetItemsProcessed(state.iterations());
}

// `destroy_timed`: whether the instance's destruction is inside the timed region. The peer
// times createPlugin alone (its close() is outside), so new_instance does too, and
// new_instance_and_destroy shows what the destruction adds.
void new_instance(benchmark::State& state, std::string engine_name, bool destroy_timed) {
  const ex::CompiledPlugin& plugin = compiled(engine_name);
  for (auto _ : state) {
    auto instance = plugin.instantiate();
    if (!instance) {
      state.SkipWithError(instance.error().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(&*instance);
    if (!destroy_timed) {
      state.PauseTiming();
      { const ex::Plugin destroyed_untimed = std::move(*instance); }
      state.ResumeTiming();
    }
  }
}

// The kernel_call rows' imports: Extism kernel functions, and plain host functions of the same
// shapes that touch no kernel (the engine's own cost of a host call).
struct KernelCall {
  const char* name;
  const char* body;  // WAT: one call of the import, its result dropped
};
constexpr KernelCall kKernelCalls[] = {
    {"none", "(nop)"},
    {"user_i32", "(drop (call $user_i32 (i32.const 1)))"},
    {"user_i64", "(drop (call $user_i64 (i64.const 1)))"},
    {"input_length", "(drop (call $input_length))"},
    {"input_load_u64", "(drop (call $input_load_u64 (i64.const 0)))"},
    {"store_u8", "(call $store_u8 (local.get $block) (i32.const 1))"},
};
constexpr int kKernelCallsPerCall = 1000;

// An Extism plugin with one export per KernelCall, each calling its import 1,000 times.
std::string kernel_calls_wat() {
  std::string wat = R"((module
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/user" "user_i32" (func $user_i32 (param i32) (result i32)))
  (import "extism:host/user" "user_i64" (func $user_i64 (param i64) (result i64)))
)";
  for (const KernelCall& call : kKernelCalls) {
    wat += std::string("  (func (export \"") + call.name +
           "\") (result i32) (local $i i32) (local $block i64)\n" +
           "    (local.set $block (call $alloc (i64.const 8)))\n    (loop $again " + call.body +
           "\n      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n" +
           "      (br_if $again (i32.lt_u (local.get $i) (i32.const " +
           std::to_string(kKernelCallsPerCall) + "))))\n    (i32.const 0))\n";
  }
  return wat + ")\n";
}

ex::Plugin kernel_calls_plugin(std::string_view engine_name) {
  const std::string wat = kernel_calls_wat();
  ex::PluginOptions options{.engine = *warmpool::wasm::Engine::named(engine_name)};
  options.host_functions.push_back(
      {.name = "user_i32",
       .function = warmpool::wasm::HostFunction::wrap([](std::int32_t v) { return v; })});
  options.host_functions.push_back(
      {.name = "user_i64",
       .function = warmpool::wasm::HostFunction::wrap([](std::int64_t v) { return v; })});
  auto plugin = ex::Plugin::create(
      ex::Manifest::from_wasm(
          std::span(reinterpret_cast<const std::uint8_t*>(wat.data()), wat.size()),
          "kernel_calls.wat"),
      std::move(options));
  if (!plugin) fail("kernel_calls.wat", plugin.error().message());
  return std::move(*plugin);
}

void kernel_call(benchmark::State& state, std::string engine_name, std::string export_name,
                 bool bound) {
  ex::Plugin plugin = kernel_calls_plugin(engine_name);
  const std::string input(16, 'x');
  std::optional<ex::Plugin::ThreadBinding> binding;
  if (bound && !bind(state, plugin, binding)) return;
  for (auto _ : state) {
    if (!call_or_skip(state, plugin, export_name, input)) return;
  }
  state.counters["kernel_call_ns"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kKernelCallsPerCall,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void register_engine(std::string_view engine_name) {
  const std::string name(engine_name);
  benchmark::RegisterBenchmark((name + "/code_16B_call").c_str(), pooled_call, name, 16)
      ->UseRealTime()
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark((name + "/code_16B_held").c_str(), held_call, name, 16, false);
  benchmark::RegisterBenchmark((name + "/code_16B_bound").c_str(), held_call, name, 16, true);
  benchmark::RegisterBenchmark((name + "/code_16B_bound_each").c_str(), bound_each_call, name, 16);
  benchmark::RegisterBenchmark((name + "/code_4KiB_call").c_str(), pooled_call, name, 4096);
  benchmark::RegisterBenchmark((name + "/code_4KiB_held").c_str(), held_call, name, 4096, false);
  benchmark::RegisterBenchmark((name + "/code_4KiB_bound").c_str(), held_call, name, 4096, true);
  benchmark::RegisterBenchmark((name + "/new_instance").c_str(), new_instance, name, false)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark((name + "/new_instance_and_destroy").c_str(), new_instance, name,
                               true)
      ->Unit(benchmark::kMicrosecond);
  for (const KernelCall& call : kKernelCalls) {
    benchmark::RegisterBenchmark((name + "/kernel_call/" + call.name).c_str(), kernel_call, name,
                                 std::string(call.name), false)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark((name + "/kernel_call_bound/none").c_str(), kernel_call, name,
                               std::string("none"), true)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (!fs::exists(plugin_dir() / "code.wasm")) {
    std::printf("warmpool_extism_bench: %s is absent: nothing measured\n",
                (plugin_dir() / "code.wasm").c_str());
    return 0;
  }
  for (std::string_view engine_name : warmpool::wasm::Engine::available()) {
    register_engine(engine_name);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
