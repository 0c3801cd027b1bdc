// warmpool_wasm_bench: the engines (issue 4) on real plugins, one binary per
// run so the target ratios printed at the end come from one machine state.
//
// Per engine (wabt always, V8 when built): the markdown plugin rendering
// plugins/testdata/markdown/document.md — compile, instantiate, fresh
// instantiate+call versus pooled acquire+call+release, reset versus
// re-instantiation — plus a trivial export's call cost (echo of 16 bytes, also
// with the instance bound to the thread, and fib(1)), the pool's own overhead (acquire+release of a
// warm instance, without any engine call), fib(25), fib(25) with fuel metering on, and compiling a
// small .wat with and without an element segment.
//
//   build/<dir>/bench/warmpool_wasm_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/pool.hpp"
#include "warmpool/wasm/wasm.hpp"

namespace {

namespace ww = warmpool::wasm;
using Clock = std::chrono::steady_clock;

constexpr int kFibN = 25;
// Far more than fib(25) needs: metering is on, it never stops the call.
constexpr std::uint64_t kFibFuel = 100'000'000'000;
constexpr benchmark::IterationCount kAfterCallIterations = 1000;

[[noreturn]] void die(std::string_view what, const ww::WasmError& error) {
  std::fprintf(stderr, "warmpool_wasm_bench: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), error.message().c_str());
  std::exit(1);
}

template <class T>
T need(std::expected<T, ww::WasmError> value, std::string_view what) {
  if (!value) die(what, value.error());
  return std::move(*value);
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  if (!in || bytes.empty()) {
    std::fprintf(stderr, "warmpool_wasm_bench: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  return bytes;
}

std::filesystem::path plugin(const char* name) {
  return std::filesystem::path(WARMPOOL_PLUGIN_DIR) / name;
}

const std::vector<std::uint8_t>& markdown_sample() {
  static const std::vector<std::uint8_t> sample = read_file(WARMPOOL_MARKDOWN_SAMPLE);
  return sample;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

using Pool = warmpool::InstancePool<ww::Instance, ww::WasmError, ww::InstanceLifecycle>;

// A plugin compiled for `engine` and linked against the WASI subset.
ww::LinkedModule load(ww::Engine engine, const char* name, const ww::Limits& limits = {}) {
  auto module = need(ww::Module::load_file(engine, plugin(name), limits), name);
  return need(ww::Linker().define_wasi().link(module), name);
}

ww::Instance instantiate(const ww::LinkedModule& linked) {
  return need(ww::Instance::instantiate(linked), "instantiate");
}

void render(ww::Instance& instance) {
  auto out = instance.call_bytes("render", markdown_sample());
  if (!out) die("markdown render", out.error());
  benchmark::DoNotOptimize(out->output.data());
}

void compile(benchmark::State& state, ww::Engine engine) {
  const std::vector<std::uint8_t> bytes = read_file(plugin("markdown.wasm"));
  for (auto _ : state) {
    auto module = need(ww::Module::compile(engine, bytes, {}, "markdown.wasm"), "compile");
    benchmark::DoNotOptimize(&module);
  }
}

// A small .wat module, then the same with an element segment: text naming
// `elem` is parsed in the probe helper process first (probe_process.hpp), and
// the difference between the two is what that costs.
constexpr std::string_view kTextWithoutElem =
    R"((module (table 1 funcref) (func $f (export "f") (result i32) (i32.const 7))))";
constexpr std::string_view kTextWithElem =
    R"((module (table 1 funcref) (func $f (export "f") (result i32) (i32.const 7))
               (elem (i32.const 0) func $f)))";

void compile_text(benchmark::State& state, ww::Engine engine, std::string_view text) {
  const std::vector<std::uint8_t> bytes(text.begin(), text.end());
  for (auto _ : state) {
    auto module = need(ww::Module::compile(engine, bytes, {}, "table.wat"), "compile text");
    benchmark::DoNotOptimize(&module);
  }
}

// Instance creation, `_initialize` included.
void instantiate_markdown(benchmark::State& state, ww::Engine engine) {
  const auto linked = load(engine, "markdown.wasm");
  for (auto _ : state) {
    auto instance = instantiate(linked);
    benchmark::DoNotOptimize(&instance);
  }
}

void fresh_call(benchmark::State& state, ww::Engine engine) {
  const auto linked = load(engine, "markdown.wasm");
  for (auto _ : state) {
    auto instance = instantiate(linked);
    render(instance);
  }
}

Pool markdown_pool(ww::Engine engine, warmpool::Recycle recycle) {
  return need(Pool::create({.max_instances = 1, .warm_count = 1, .recycle = recycle},
                           [linked = load(engine, "markdown.wasm")] {
                             return ww::Instance::instantiate(linked);
                           }),
              "pool");
}

void pooled_call(benchmark::State& state, ww::Engine engine, warmpool::Recycle recycle) {
  auto pool = markdown_pool(engine, recycle);
  for (auto _ : state) {
    auto instance = need(pool.acquire(), "acquire");
    render(instance);
    pool.release(std::move(instance));
  }
}

// reset() of an instance that has just rendered (the render is not timed).
void reset_after_call(benchmark::State& state, ww::Engine engine) {
  auto instance = instantiate(load(engine, "markdown.wasm"));
  for (auto _ : state) {
    render(instance);
    const auto start = Clock::now();
    const bool reset = instance.reset();
    const auto stop = Clock::now();
    if (!reset) {
      state.SkipWithError("reset() returned false");
      break;
    }
    state.SetIterationTime(seconds_between(start, stop));
  }
}

// What reset() replaces: dropping the used instance and instantiating anew
// (the render is not timed).
void reinstantiate_after_call(benchmark::State& state, ww::Engine engine) {
  const auto linked = load(engine, "markdown.wasm");
  auto instance = instantiate(linked);
  for (auto _ : state) {
    render(instance);
    const auto start = Clock::now();
    instance = instantiate(linked);
    const auto stop = Clock::now();
    state.SetIterationTime(seconds_between(start, stop));
  }
}

// Echoes 16 bytes through the bytes ABI once per iteration.
void echo_16_bytes(benchmark::State& state, ww::Instance& instance) {
  const std::string input = "sixteen bytes...";
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(input.data()),
                                            input.size());
  for (auto _ : state) {
    auto out = instance.call_bytes("echo", bytes);
    if (!out) die("echo", out.error());
    benchmark::DoNotOptimize(out->output.data());
  }
}

void echo_call(benchmark::State& state, ww::Engine engine) {
  auto instance = instantiate(load(engine, "echo.wasm"));
  echo_16_bytes(state, instance);
}

// The same call with the instance bound to the benchmark's thread
// (Instance::bind_to_this_thread), as a server's fixed worker would hold it.
void echo_call_thread_bound(benchmark::State& state, ww::Engine engine) {
  auto instance = instantiate(load(engine, "echo.wasm"));
  const auto binding = instance.bind_to_this_thread();
  if (!binding) die("bind", binding.error());
  echo_16_bytes(state, instance);
}

// By name, as the rows measured before the embedding API did.
void fib_call(benchmark::State& state, ww::Engine engine, int n, const ww::Limits& limits) {
  auto instance = instantiate(load(engine, "fib.wasm", limits));
  const ww::Value args[] = {std::int32_t{n}};
  for (auto _ : state) {
    auto result = instance.call("fib", args);
    if (!result) die("fib", result.error());
    benchmark::DoNotOptimize(result->data());
  }
}

// The pool's own cost per call: acquire and release of a warm instance, no
// engine call (Reuse, with the ready-made lifecycle, so is_healthy runs).
void pool_overhead(benchmark::State& state, ww::Engine engine) {
  auto pool = markdown_pool(engine, warmpool::Recycle::Reuse);
  for (auto _ : state) {
    auto instance = need(pool.acquire(), "acquire");
    benchmark::DoNotOptimize(&instance);
    pool.release(std::move(instance));
  }
}

void register_engine(ww::Engine engine) {
  const std::string e(engine.name());
  // WARMPOOL_BENCH_ITERATIONS=N runs every row exactly N times, for counting
  // instructions under callgrind (bench/instruction_counts.sh): this Google
  // Benchmark has no --benchmark_min_time=Nx.
  const char* fixed_iterations = std::getenv("WARMPOOL_BENCH_ITERATIONS");
  auto add = [&](const std::string& name, auto fn) {
    auto* row =
        benchmark::RegisterBenchmark((e + "/" + name).c_str(), [engine,
                                                                fn](benchmark::State& state) {
          fn(state, engine);
        })->Unit(benchmark::kMicrosecond);
    if (fixed_iterations != nullptr) row->Iterations(std::atoll(fixed_iterations));
    return row;
  };
  using warmpool::Recycle;
  add("markdown/compile", compile)->Unit(benchmark::kMillisecond);
  add("text_compile/without_elem",
      [](benchmark::State& s, ww::Engine en) { compile_text(s, en, kTextWithoutElem); });
  add("text_compile/with_elem",
      [](benchmark::State& s, ww::Engine en) { compile_text(s, en, kTextWithElem); });
  add("markdown/instantiate", instantiate_markdown);
  add("markdown/fresh_instantiate_call", fresh_call);
  add("markdown/pooled_call_reuse",
      [](benchmark::State& s, ww::Engine en) { pooled_call(s, en, Recycle::Reuse); });
  add("markdown/pooled_call_reset",
      [](benchmark::State& s, ww::Engine en) { pooled_call(s, en, Recycle::Reset); });
  // A fixed count: only the reset/instantiate is timed, but every iteration
  // also renders (milliseconds on wabt), which --benchmark_min_time ignores.
  add("markdown/reset_after_call", reset_after_call)
      ->UseManualTime()
      ->Iterations(kAfterCallIterations);
  add("markdown/reinstantiate_after_call", reinstantiate_after_call)
      ->UseManualTime()
      ->Iterations(kAfterCallIterations);
  add("pool_overhead", pool_overhead)->Unit(benchmark::kNanosecond);
  add("echo_16B_call", echo_call);
  add("echo_16B_call_thread_bound", echo_call_thread_bound);
  add("fib_1_call", [](benchmark::State& s, ww::Engine en) { fib_call(s, en, 1, {}); });
  add("fib_25", [](benchmark::State& s, ww::Engine en) {
    fib_call(s, en, kFibN, {});
  })->Unit(benchmark::kMillisecond);
  add("fib_25_metered", [](benchmark::State& s, ww::Engine en) {
    fib_call(s, en, kFibN, {.fuel = kFibFuel});
  })->Unit(benchmark::kMillisecond);
}

// Prints the usual console table, then the issue's targets computed from the
// runs just made (real time per iteration, in ns; medians when repeated).
class TargetReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      // With --benchmark_repetitions the median wins over single repetitions.
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const std::string name = run.run_name.str();
      if (median || (run.run_type == Run::RT_Iteration && !medians_.contains(name))) {
        ns_[name] =
            run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e9;
      }
      if (median) medians_.insert(name);
    }
  }

  using ConsoleReporter::ConsoleReporter;

  void Finalize() override {
    ConsoleReporter::Finalize();
    const std::string kAfterCall = std::to_string(kAfterCallIterations) + "/manual_time";
    std::printf("\nTargets (issue 4):\n");
    for (const char* engine : {"wabt", "v8"}) {
      const std::string e = engine;
      ratio(e + ": instantiate / pool overhead (target >= 1000)", e + "/markdown/instantiate",
            e + "/pool_overhead");
      ratio(e + ": fresh instantiate+call / pooled call (Reset)",
            e + "/markdown/fresh_instantiate_call", e + "/markdown/pooled_call_reset");
      ratio(e + ": re-instantiate / reset" + (e == "wabt" ? " (target >= 5)" : ""),
            e + "/markdown/reinstantiate_after_call/iterations:" + kAfterCall,
            e + "/markdown/reset_after_call/iterations:" + kAfterCall);
      ratio(e + ": fib(25) metered / unmetered (metering overhead)", e + "/fib_25_metered",
            e + "/fib_25");
    }
    ratio("fib(25) wabt / v8 (target >= 20)", "wabt/fib_25", "v8/fib_25");
  }

 private:
  void ratio(const std::string& what, const std::string& num, const std::string& den) {
    auto n = ns_.find(num), d = ns_.find(den);
    if (n == ns_.end() || d == ns_.end() || d->second <= 0) return;
    std::printf("  %-62s %10.1f  (%.4g ns / %.4g ns)\n", what.c_str(), n->second / d->second,
                n->second, d->second);
  }

  std::map<std::string, double> ns_;
  std::set<std::string> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  for (std::string_view name : ww::Engine::available()) register_engine(*ww::Engine::named(name));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  TargetReporter reporter(isatty(fileno(stdout)) != 0 ? TargetReporter::OO_ColorTabular
                                                      : TargetReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
