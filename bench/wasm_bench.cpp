// warmpool_wasm_bench: the engines (issue 4) on real plugins, one binary per
// run so the target ratios printed at the end come from one machine state.
//
// Per engine (wabt always, V8 when built): the markdown plugin rendering
// plugins/testdata/markdown/document.md — compile, instantiate, fresh
// instantiate+call versus pooled acquire+call+release, reset versus
// re-instantiation — plus a trivial export's call cost (echo of 16 bytes, and
// fib(1)), the pool's own overhead (acquire+release of a warm instance,
// without any engine call), fib(25), fib(25) with fuel metering on, and
// compiling a small .wat with and without an element segment.
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
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/wabt.hpp"
#ifdef WARMPOOL_BENCH_V8
#include "warmpool/wasm/v8.hpp"
#endif

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

struct Wabt {
  static constexpr const char* kName = "wabt";
  using Module = ww::wabt::Module;
  using Instance = ww::wabt::Instance;
  static warmpool::Lifecycle<Instance> lifecycle() { return ww::wabt::lifecycle(); }
};

#ifdef WARMPOOL_BENCH_V8
struct V8 {
  static constexpr const char* kName = "v8";
  using Module = ww::v8::Module;
  using Instance = ww::v8::Instance;
  static warmpool::Lifecycle<Instance> lifecycle() { return ww::v8::lifecycle(); }
};
#endif

template <class E>
using ModulePtr = std::shared_ptr<const typename E::Module>;

template <class E>
ModulePtr<E> load(const char* name, const ww::Limits& limits = {}) {
  return need(E::Module::load_file(plugin(name), limits), name);
}

template <class E>
void render(typename E::Instance& instance) {
  auto out = instance.call_bytes("render", markdown_sample());
  if (!out) die("markdown render", out.error());
  benchmark::DoNotOptimize(out->output.data());
}

template <class E>
void compile(benchmark::State& state) {
  const std::vector<std::uint8_t> bytes = read_file(plugin("markdown.wasm"));
  for (auto _ : state) {
    auto module = need(E::Module::compile(bytes, {}, "markdown.wasm"), "compile");
    benchmark::DoNotOptimize(module.get());
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

template <class E>
void compile_text(benchmark::State& state, std::string_view text) {
  const std::vector<std::uint8_t> bytes(text.begin(), text.end());
  for (auto _ : state) {
    auto module = need(E::Module::compile(bytes, {}, "table.wat"), "compile text");
    benchmark::DoNotOptimize(module.get());
  }
}

template <class E>
void instantiate(benchmark::State& state) {
  const auto module = load<E>("markdown.wasm");
  for (auto _ : state) {
    auto instance = need(E::Instance::instantiate(module), "instantiate");
    benchmark::DoNotOptimize(&instance);
  }
}

template <class E>
void fresh_call(benchmark::State& state) {
  const auto module = load<E>("markdown.wasm");
  for (auto _ : state) {
    auto instance = need(E::Instance::instantiate(module), "instantiate");
    render<E>(instance);
  }
}

template <class E>
void pooled_call(benchmark::State& state, warmpool::Recycle recycle) {
  const auto module = load<E>("markdown.wasm");
  auto pool = need(warmpool::InstancePool<typename E::Instance, ww::WasmError>::create(
                       {.max_instances = 1, .warm_count = 1, .recycle = recycle},
                       [module] { return E::Instance::instantiate(module); }, E::lifecycle()),
                   "pool");
  for (auto _ : state) {
    auto instance = need(pool.acquire(), "acquire");
    render<E>(instance);
    pool.release(std::move(instance));
  }
}

// reset() of an instance that has just rendered (the render is not timed).
template <class E>
void reset_after_call(benchmark::State& state) {
  const auto module = load<E>("markdown.wasm");
  auto instance = need(E::Instance::instantiate(module), "instantiate");
  for (auto _ : state) {
    render<E>(instance);
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
template <class E>
void reinstantiate_after_call(benchmark::State& state) {
  const auto module = load<E>("markdown.wasm");
  auto instance = need(E::Instance::instantiate(module), "instantiate");
  for (auto _ : state) {
    render<E>(instance);
    const auto start = Clock::now();
    instance = need(E::Instance::instantiate(module), "instantiate");
    const auto stop = Clock::now();
    state.SetIterationTime(seconds_between(start, stop));
  }
}

template <class E>
void echo_call(benchmark::State& state) {
  const auto module = load<E>("echo.wasm");
  auto instance = need(E::Instance::instantiate(module), "instantiate");
  const std::string input = "sixteen bytes...";
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(input.data()),
                                            input.size());
  for (auto _ : state) {
    auto out = instance.call_bytes("echo", bytes);
    if (!out) die("echo", out.error());
    benchmark::DoNotOptimize(out->output.data());
  }
}

template <class E>
void fib_call(benchmark::State& state, int n, const ww::Limits& limits) {
  const auto module = load<E>("fib.wasm", limits);
  auto instance = need(E::Instance::instantiate(module), "instantiate");
  const ww::Value args[] = {std::int32_t{n}};
  for (auto _ : state) {
    auto result = instance.call("fib", args);
    if (!result) die("fib", result.error());
    benchmark::DoNotOptimize(result->data());
  }
}

// The pool's own cost per call: acquire and release of a warm instance, no
// engine call (Reuse, with the engine's lifecycle, so is_healthy runs).
template <class E>
void pool_overhead(benchmark::State& state) {
  const auto module = load<E>("markdown.wasm");
  auto pool = need(warmpool::InstancePool<typename E::Instance, ww::WasmError>::create(
                       {.max_instances = 1, .warm_count = 1, .recycle = warmpool::Recycle::Reuse},
                       [module] { return E::Instance::instantiate(module); }, E::lifecycle()),
                   "pool");
  for (auto _ : state) {
    auto instance = need(pool.acquire(), "acquire");
    benchmark::DoNotOptimize(&instance);
    pool.release(std::move(instance));
  }
}

template <class E>
void register_engine() {
  const std::string e = E::kName;
  auto add = [&](const std::string& name, auto fn) {
    return benchmark::RegisterBenchmark((e + "/" + name).c_str(), fn)
        ->Unit(benchmark::kMicrosecond);
  };
  add("markdown/compile", compile<E>)->Unit(benchmark::kMillisecond);
  add("text_compile/without_elem",
      [](benchmark::State& s) { compile_text<E>(s, kTextWithoutElem); });
  add("text_compile/with_elem", [](benchmark::State& s) { compile_text<E>(s, kTextWithElem); });
  add("markdown/instantiate", instantiate<E>);
  add("markdown/fresh_instantiate_call", fresh_call<E>);
  add("markdown/pooled_call_reuse",
      [](benchmark::State& s) { pooled_call<E>(s, warmpool::Recycle::Reuse); });
  add("markdown/pooled_call_reset",
      [](benchmark::State& s) { pooled_call<E>(s, warmpool::Recycle::Reset); });
  // A fixed count: only the reset/instantiate is timed, but every iteration
  // also renders (milliseconds on wabt), which --benchmark_min_time ignores.
  add("markdown/reset_after_call", reset_after_call<E>)
      ->UseManualTime()
      ->Iterations(kAfterCallIterations);
  add("markdown/reinstantiate_after_call", reinstantiate_after_call<E>)
      ->UseManualTime()
      ->Iterations(kAfterCallIterations);
  add("pool_overhead", pool_overhead<E>)->Unit(benchmark::kNanosecond);
  add("echo_16B_call", echo_call<E>);
  add("fib_1_call", [](benchmark::State& s) { fib_call<E>(s, 1, {}); });
  add("fib_25", [](benchmark::State& s) {
    fib_call<E>(s, kFibN, {});
  })->Unit(benchmark::kMillisecond);
  add("fib_25_metered", [](benchmark::State& s) {
    fib_call<E>(s, kFibN, {.fuel = kFibFuel});
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
  register_engine<Wabt>();
#ifdef WARMPOOL_BENCH_V8
  register_engine<V8>();
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  TargetReporter reporter(isatty(fileno(stdout)) != 0 ? TargetReporter::OO_ColorTabular
                                                      : TargetReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
