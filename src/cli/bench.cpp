// `warmpool bench`: the same workload through the pool and with a fresh
// instance per call, side by side.
#include <cstdio>
#include <expected>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "diagnostics.hpp"
#include "embedded_plugin.hpp"
#include "engine_flags.hpp"
#include "exit_code.hpp"
#include "input_file.hpp"
#include "interrupt.hpp"
#include "json_text.hpp"
#include "latency_stats.hpp"
#include "load_driver.hpp"
#include "options.hpp"
#include "pool_flags.hpp"
#include "subcommands.hpp"
#include "svg_report.hpp"
#include "value_text.hpp"
#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/pool.hpp"
#include "warmpool/wasm/wasm.hpp"

namespace warmpool::cli {
namespace {

constexpr double kDefaultDurationS = 2.0;
constexpr std::uint64_t kDefaultThreads = 2;
constexpr auto kBenchAcquireTimeout = std::chrono::milliseconds(10'000);

CommandHelp bench_help() {
  return {
      .usage = "warmpool bench [PLUGIN [ARGS...]] [options]",
      .description =
          "Runs one workload twice, side by side: through the pool (the chosen --policy) and\n"
          "with no pool (a fresh instance per call from the already-compiled module), and\n"
          "prints calls/s, p50/p90/p99/p99.9 latency, pool hits/misses/exhausted and the\n"
          "speed-up. With no PLUGIN it runs the Markdown renderer embedded in this binary on a\n"
          "built-in sample page.\n"
          "PLUGIN may also be an unmodified Extism plugin (a .wasm importing extism:host/env, or\n"
          "an Extism manifest .json), pooled the same way; it gets WASI, the --input bytes as\n"
          "its input, and --timeout-ms / --max-memory-pages as the manifest's timeout_ms and\n"
          "max_pages (--fuel does not apply to it).\n\n"
          "Closed loop by default (each thread calls again as soon as a call returns). With\n"
          "--rate, open loop: calls arrive on a fixed schedule and latency counts from the\n"
          "scheduled arrival, so stalls are not hidden (no coordinated omission).\n"
          "Ctrl-C (SIGINT) or SIGTERM stops it at once, with exit code 130 or 143.\n",
      .footer = std::string(kExitCodesHelp) +
                "\nExamples:\n  # paths as in a checkout built with 'cmake --preset release'\n"
                "  warmpool bench\n"
                "  warmpool bench --policy reset --threads 2 --duration 5 --report latency.svg\n"
                "  warmpool bench --rate 2000 --policy fresh --json\n"
                "  warmpool bench build/release/plugins/fib.wasm 20 --export fib --calls 1000\n"
                "  warmpool bench build/release/plugins/echo.wasm --input README.md --engine " +
                std::string(wasm::Engine::available().back()) +
                "\n"
                "  warmpool bench count_vowels.wasm --export count_vowels --policy reset\n"};
}

struct BenchOptions {
  EngineOptions engine;
  std::optional<std::string> plugin;
  std::optional<std::string> export_name;
  std::vector<std::string> args;
  std::optional<std::string> input;
  LoadShape shape;
  PoolConfig pool;
  bool json = false;
  std::optional<std::string> report;
};

// What one call does: a bytes call with `input`, or a numeric call with `args`.
struct Workload {
  std::string export_name;
  bool bytes = false;
  std::string input;
  std::vector<wasm::Value> args;
};

std::optional<wasm::WasmError> invoke(wasm::Instance& instance, const Workload& w) {
  if (w.bytes) {
    auto in = std::span(reinterpret_cast<const std::uint8_t*>(w.input.data()), w.input.size());
    auto out = instance.call_bytes(w.export_name, in);
    if (!out) return out.error();
  } else {
    auto out = instance.call(w.export_name, w.args);
    if (!out) return out.error();
  }
  return std::nullopt;
}

struct PoolCounts {
  std::uint64_t hits, misses, exhausted;
};

struct ModeReport {
  std::string name;
  LoadResult result;
  LatencySummary latencies;
  std::optional<PoolCounts> pool;
  double calls_per_s() const {
    return result.seconds > 0 ? static_cast<double>(result.ok) / result.seconds : 0;
  }
};

ModeReport make_report(std::string name, LoadResult r, std::optional<PoolCounts> pool) {
  LatencySummary summary(std::move(r.latencies));
  return {std::move(name), std::move(r), std::move(summary), pool};
}

constexpr double kPercentiles[] = {50, 90, 99, 99.9};
constexpr const char* kPercentileKeys[] = {"p50", "p90", "p99", "p99_9"};

void print_table(const std::string& heading, const std::vector<ModeReport>& modes) {
  std::cout << heading << "\n\n";
  std::printf("%-15s %10s %11s %10s %10s %10s %10s %9s %9s %10s %7s\n", "mode", "calls", "calls/s",
              "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "hits", "misses", "exhausted", "failed");
  for (const auto& m : modes) {
    std::printf("%-15s %10llu %11.0f", m.name.c_str(), static_cast<unsigned long long>(m.result.ok),
                m.calls_per_s());
    for (double p : kPercentiles) std::printf(" %9.1f", m.latencies.percentile_us(p));
    if (m.pool) {
      std::printf(" %9llu %9llu %10llu", static_cast<unsigned long long>(m.pool->hits),
                  static_cast<unsigned long long>(m.pool->misses),
                  static_cast<unsigned long long>(m.pool->exhausted));
    } else {
      std::printf(" %9s %9s %10s", "-", "-", "-");
    }
    std::printf(" %7llu\n", static_cast<unsigned long long>(m.result.failed));
  }
  std::fflush(stdout);
}

void print_json(const BenchOptions& o, const Workload& w, const std::string& plugin_name,
                const std::vector<ModeReport>& modes) {
  Json j;
  j["plugin"] = plugin_name;
  j["export"] = w.export_name;
  j["engine"] = o.engine.engine;
  j["threads"] = o.shape.threads;
  j["loop"] = o.shape.rate > 0 ? "open" : "closed";
  if (o.shape.rate > 0) j["rate"] = o.shape.rate;
  j["policy"] = policy_name(o.pool.recycle);
  j["warm"] = o.pool.warm_count;
  j["max"] = o.pool.max_instances;
  j["modes"] = Json::array();
  for (const auto& m : modes) {
    Json mode;
    mode["mode"] = m.name;
    mode["pooled"] = m.pool.has_value();
    mode["calls"] = m.result.ok;
    mode["failed"] = m.result.failed;
    mode["seconds"] = m.result.seconds;
    mode["calls_per_s"] = m.calls_per_s();
    Json& latency = mode["latency_us"];
    for (std::size_t i = 0; i < std::size(kPercentiles); ++i) {
      latency[kPercentileKeys[i]] = m.latencies.percentile_us(kPercentiles[i]);
    }
    latency["mean"] = m.latencies.mean_us();
    latency["max"] = m.latencies.max_us();
    if (m.pool) {
      mode["hits"] = m.pool->hits;
      mode["misses"] = m.pool->misses;
      mode["exhausted"] = m.pool->exhausted;
    }
    if (m.result.first_error) mode["first_error"] = *m.result.first_error;
    j["modes"].push_back(std::move(mode));
  }
  const auto& pooled = modes.front();
  const auto& fresh = modes.back();
  j["speedup"]["calls_per_s"] =
      fresh.calls_per_s() > 0 ? pooled.calls_per_s() / fresh.calls_per_s() : 0;
  j["speedup"]["p50_latency"] =
      pooled.latencies.percentile_us(50) > 0
          ? fresh.latencies.percentile_us(50) / pooled.latencies.percentile_us(50)
          : 0;
  std::cout << to_json_text(j) << '\n';
}

template <class Error>
std::string error_text(const Error& e) {
  std::ostringstream s;
  s << e;
  return s.str();
}

// The workload's two runs, through the pool and with a fresh instance per
// call, for any kind of plugin: `make()` builds a ready instance and
// `invoke(instance)` makes one call, returning its error if it fails. The
// error is the exit code when the plugin cannot run the workload at all.
template <class Instance, class Error, class Lifecycle, class Make, class Invoke>
std::expected<std::vector<ModeReport>, int> run_modes(const BenchOptions& o, const Make& make,
                                                      const Invoke& invoke) {
  // One untimed call first: a plugin that cannot run the workload fails here
  // with its own error instead of producing a table of failures.
  {
    auto probe = make();
    if (!probe) return std::unexpected(fail(kExitUsage, "bench", probe.error()));
    if (auto err = invoke(*probe)) return std::unexpected(fail(kExitPluginFailure, "bench", *err));
  }

  std::vector<ModeReport> modes;
  {
    auto pool = InstancePool<Instance, Error, Lifecycle>::create(o.pool, make);
    if (!pool) return std::unexpected(fail(kExitPluginFailure, "bench", pool.error()));
    const std::string name = "pool (" + std::string(policy_name(o.pool.recycle)) + ")";
    auto pooled = drive_load(
        o.shape,
        [&](std::size_t) -> std::optional<std::string> {
          auto lease = pool->checkout();
          if (!lease) return error_text(lease.error());
          auto err = invoke(lease->get());
          if (!err) return std::nullopt;
          if (err->poisons_instance()) lease->discard();
          return error_text(*err);
        },
        name);
    auto m = pool->metrics();
    modes.push_back(
        make_report(name, std::move(pooled), PoolCounts{m->hits(), m->misses(), m->exhausted()}));
  }
  auto fresh = drive_load(
      o.shape,
      [&](std::size_t) -> std::optional<std::string> {
        auto instance = make();
        if (!instance) return error_text(instance.error());
        if (auto err = invoke(*instance)) return error_text(*err);
        return std::nullopt;
      },
      "no pool");
  modes.push_back(make_report("no pool", std::move(fresh), std::nullopt));
  return modes;
}

// A bytes workload's input: --input, else the built-in sample page.
std::expected<std::string, int> workload_input(const BenchOptions& o) {
  if (!o.input) return std::string(kEmbeddedSampleInput);
  set_interrupted_activity("reading --input " + *o.input);
  auto data = read_input(*o.input, "--input");
  if (!data) return std::unexpected(fail(kExitUsage, "bench", data.error()));
  return std::move(*data);
}

int report_modes(const BenchOptions& o, const Workload& w, const std::string& plugin_name,
                 const std::vector<ModeReport>& modes);

bool imports_extism_kernel(const wasm::Module& module) {
  for (const auto& import : module.imports()) {
    if (import.module == "extism:host/env") return true;
  }
  return false;
}

// An unmodified Extism plugin (a manifest, or a module importing the kernel).
int bench_extism(const BenchOptions& o) {
  if (!o.args.empty()) {
    return usage_error("bench", {"an Extism plugin takes its input from --input, not ARGS"});
  }
  if (o.engine.limits.fuel > 0) {
    return usage_error("bench", {"--fuel does not apply to Extism plugins (use --timeout-ms)"});
  }
  auto manifest = extism::Manifest::load_file(*o.plugin);
  if (!manifest) return fail(kExitUsage, "bench", manifest.error().message());
  if (o.engine.limits.timeout.count() > 0) manifest->timeout = o.engine.limits.timeout;
  if (o.engine.limits.max_memory_pages > 0) manifest->max_pages = o.engine.limits.max_memory_pages;
  auto compiled = extism::CompiledPlugin::compile(
      *manifest, {.engine = *wasm::Engine::named(o.engine.engine), .wasi = true});
  if (!compiled) return fail_loading(kExitUsage, "bench", *o.plugin, compiled.error());

  const std::string plugin_name = std::filesystem::path(*o.plugin).filename().string();
  Workload w;
  w.bytes = true;
  if (o.export_name) {
    w.export_name = *o.export_name;
  } else {
    std::vector<std::string> candidates;
    std::string list;
    for (const auto& e : compiled->module().exports()) {
      list += (list.empty() ? "" : ", ") + e.name;
      if (compiled->function_exists(e.name) && e.name != "_start" && e.name != "_initialize" &&
          e.name != "__wasm_call_ctors") {
        candidates.push_back(e.name);
      }
    }
    if (candidates.size() != 1) {
      return usage_error("bench",
                         {plugin_name + ": cannot pick a function by itself (" +
                          std::to_string(candidates.size()) +
                          " callable exports); name one with --export (exports: " + list + ")"});
    }
    w.export_name = candidates.front();
  }
  if (!compiled->function_exists(w.export_name)) {
    return fail(kExitUsage, "bench", plugin_name + ": Function not found: " + w.export_name);
  }
  auto input = workload_input(o);
  if (!input) return input.error();
  w.input = std::move(*input);

  set_interrupted_activity("benchmarking '" + w.export_name + "' in " + plugin_name);
  auto modes = run_modes<extism::Plugin, extism::Error, extism::PluginLifecycle>(
      o, [&compiled] { return compiled->instantiate(); },
      [&w](extism::Plugin& plugin) -> std::optional<extism::Error> {
        auto out = plugin.call(w.export_name, w.input);
        if (!out) return out.error();
        return std::nullopt;
      });
  if (!modes) return modes.error();
  return report_modes(o, w, plugin_name, *modes);
}

int bench_with(const BenchOptions& o) {
  const std::string plugin_label = o.plugin.value_or(std::string(kEmbeddedPluginName));
  set_interrupted_activity("loading " + plugin_label);
  if (o.plugin && std::filesystem::path(*o.plugin).extension() == ".json") return bench_extism(o);
  const wasm::Engine engine = *wasm::Engine::named(o.engine.engine);
  auto module = o.plugin ? wasm::Module::load_file(engine, *o.plugin, o.engine.limits)
                         : wasm::Module::compile(engine, embedded_plugin_bytes(), o.engine.limits,
                                                 std::string(kEmbeddedPluginName));
  if (!module) return fail_loading(kExitUsage, "bench", plugin_label, module.error());
  if (imports_extism_kernel(*module)) return bench_extism(o);
  auto linked = wasm::Linker().define_wasi().link(*module);
  if (!linked) return fail_loading(kExitUsage, "bench", plugin_label, linked.error());
  const wasm::Module* compiled = &*module;

  Workload w;
  if (o.export_name) {
    w.export_name = *o.export_name;
  } else if (!o.plugin) {
    w.export_name = std::string(kEmbeddedPluginExport);
  } else {
    std::vector<std::string> candidates;
    for (const auto& e : compiled->exports()) {
      if (is_bytes_export(e.type)) candidates.push_back(e.name);
    }
    if (candidates.size() != 1) {
      std::string list;
      for (const auto& e : compiled->exports()) list += (list.empty() ? "" : ", ") + e.name;
      return usage_error("bench",
                         {compiled->name() + ": cannot pick an export by itself (" +
                          std::to_string(candidates.size()) +
                          " bytes exports); name one with --export (exports: " + list + ")"});
    }
    w.export_name = candidates.front();
  }
  auto fn = compiled->function(w.export_name);
  if (!fn) return fail(kExitUsage, "bench", fn.error().message());
  w.bytes = is_bytes_export(fn->type()) && o.args.empty();
  if (w.bytes) {
    auto input = workload_input(o);
    if (!input) return input.error();
    w.input = std::move(*input);
  } else {
    const auto& params = fn->type().params;
    if (o.input) return usage_error("bench", {"--input needs a bytes export"});
    if (o.args.size() != params.size()) {
      return usage_error(
          "bench", {compiled->name() + ": export '" + w.export_name + "' " + signature(fn->type()) +
                    " takes " + std::to_string(params.size()) + " argument(s), got " +
                    std::to_string(o.args.size())});
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto v = parse_value(o.args[i], params[i]);
      if (!v) return usage_error("bench", {"argument " + std::to_string(i + 1) + ": " + v.error()});
      w.args.push_back(*v);
    }
  }

  set_interrupted_activity("benchmarking '" + w.export_name + "' in " + compiled->name());
  auto modes = run_modes<wasm::Instance, wasm::WasmError, wasm::InstanceLifecycle>(
      o, [&linked] { return wasm::Instance::instantiate(*linked); },
      [&w](wasm::Instance& instance) { return invoke(instance, w); });
  if (!modes) return modes.error();
  return report_modes(o, w, compiled->name(), *modes);
}

int report_modes(const BenchOptions& o, const Workload& w, const std::string& plugin_name,
                 const std::vector<ModeReport>& modes) {
  if (o.json) {
    print_json(o, w, plugin_name, modes);
  } else {
    std::string loop =
        o.shape.rate > 0
            ? "open loop at " + std::to_string(static_cast<long long>(o.shape.rate)) + " calls/s"
            : "closed loop";
    std::string amount =
        o.shape.calls > 0 ? std::to_string(o.shape.calls) + " calls per mode"
                          : std::to_string(o.shape.duration.count()).substr(0, 4) + " s per mode";
    print_table("warmpool bench: " + plugin_name + " export '" + w.export_name + "', engine " +
                    o.engine.engine + ", " + std::to_string(o.shape.threads) + " thread(s), " +
                    loop + ", " + amount + ", pool warm " + std::to_string(o.pool.warm_count) +
                    " max " + std::to_string(o.pool.max_instances),
                modes);
    const auto& pooled = modes.front();
    const auto& none = modes.back();
    if (none.calls_per_s() > 0 && pooled.latencies.percentile_us(50) > 0) {
      std::printf("\nspeed-up with the pool: %.1fx calls/s, %.1fx lower p50 latency\n",
                  pooled.calls_per_s() / none.calls_per_s(),
                  none.latencies.percentile_us(50) / pooled.latencies.percentile_us(50));
    }
    for (const auto& m : modes) {
      if (m.result.first_error) {
        std::printf("%s: %llu call(s) failed, first: %s\n", m.name.c_str(),
                    static_cast<unsigned long long>(m.result.failed),
                    m.result.first_error->c_str());
      }
    }
  }

  if (o.report) {
    std::vector<ChartSeries> series;
    for (const auto& m : modes) series.push_back({m.name, &m.latencies});
    std::ofstream out(*o.report, std::ios::binary | std::ios::trunc);
    out << render_latency_chart("warmpool bench: " + plugin_name + " '" + w.export_name + "' (" +
                                    o.engine.engine + ", " + std::to_string(o.shape.threads) +
                                    " threads)",
                                series);
    out.close();
    if (!out) return fail(kExitUsage, "bench", "cannot write report '" + *o.report + "'");
  }
  for (const auto& m : modes) {
    if (m.result.ok == 0) return kExitPluginFailure;
  }
  return kExitOk;
}

}  // namespace

int bench_main(std::span<const std::string> args) {
  CLI::App app;
  configure_command(app, bench_help());
  BenchOptions o;
  std::string export_name, input, report;
  std::uint64_t threads = kDefaultThreads;
  std::uint64_t calls = 0;
  double duration_s = kDefaultDurationS;
  app.add_option("--export", export_name,
                 "export to call\n(default: the plugin's only bytes export)")
      ->type_name("NAME");
  app.add_option("--input", input,
                 "input for a bytes export ('-' = stdin;\ndefault: the built-in sample page)")
      ->type_name("FILE|-");
  app.add_option("--threads", threads, "concurrent callers (1..256, default 2)")
      ->type_name("N")
      ->check(integer_in(1, 256));
  app.add_option("--duration", duration_s, "seconds per mode (0.01..86400, default 2)")
      ->type_name("S")
      ->check(number_in(0.01, 86400));
  app.add_option("--calls", calls,
                 "run N calls per mode instead of a duration\n(1..1000000000; not with --duration)")
      ->type_name("N")
      ->check(integer_in(1, 1'000'000'000));
  app.add_option("--rate", o.shape.rate,
                 "open loop at this total arrival rate\n(0.001..10000000; default: closed loop)")
      ->type_name("CALLS_PER_S")
      ->check(number_in(0.001, 10'000'000));
  app.add_flag("--json", o.json, "print the figures as JSON instead of a table");
  app.add_option("--report", report,
                 "write a latency-percentile chart (SVG, opens in a\nbrowser); checked before the "
                 "benchmark starts")
      ->type_name("FILE.svg");
  PoolFlags pool_flags(app, {.acquire_timeout = kBenchAcquireTimeout,
                             .acquire_timeout_help = "how long a call waits for a free instance "
                                                     "when all\n--max are busy"});
  EngineFlags engine_flags(app, {});
  std::string plugin;
  app.add_option("PLUGIN", plugin,
                 "a .wasm or .wat file, or an Extism manifest .json\n(default: the embedded "
                 "Markdown plugin)")
      ->type_name("");
  app.add_option("ARGS", o.args, "arguments for a numeric export")->type_name("");
  if (auto exit_code = parse_command(app, "bench", args)) return *exit_code;
  if (auto conflict = excluding_each_other(app, "--calls", {"--duration"})) {
    return usage_error("bench", *conflict);
  }
  o.engine = engine_flags.options();
  if (given(app, "--export")) o.export_name = export_name;
  if (given(app, "--input")) o.input = input;
  if (given(app, "--report")) o.report = report;
  if (given(app, "PLUGIN")) o.plugin = plugin;
  o.shape.threads = threads;
  o.shape.calls = calls;
  o.shape.duration = std::chrono::duration<double>(duration_s);
  auto pool = pool_flags.config(o.shape.threads);
  if (!pool) return usage_error("bench", pool.error());
  o.pool = *pool;

  if (o.plugin) {
    if (auto bad = check_readable_file(*o.plugin, "PLUGIN")) return fail(kExitUsage, "bench", *bad);
  }
  if (o.input && *o.input != "-") {
    if (auto bad = check_readable_file(*o.input, "--input")) return fail(kExitUsage, "bench", *bad);
  }
  if (o.report) {
    if (auto bad = check_writable_file(*o.report, "--report")) {
      return fail(kExitUsage, "bench", *bad);
    }
  }
  exit_on_interrupt("bench");
  return bench_with(o);
}

}  // namespace warmpool::cli
