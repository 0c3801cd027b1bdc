// `warmpool call`: run one function of an Extism plugin (a .wasm file or a
// manifest), shaped like `extism call`. stdout carries only the output bytes.
#include <iostream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "default_engine.hpp"
#include "diagnostics.hpp"
#include "exit_code.hpp"
#include "input_file.hpp"
#include "interrupt.hpp"
#include "options.hpp"
#include "subcommands.hpp"
#include "warmpool/extism/extism.hpp"

namespace warmpool::cli {
namespace {

CommandHelp call_help() {
  return {
      .usage = "warmpool call [options] PLUGIN FUNCTION",
      .description =
          "Runs FUNCTION of an Extism plugin (https://extism.org) once, or --loop N times on the\n"
          "same instance, and writes its output bytes to stdout. PLUGIN is a .wasm file or an\n"
          "Extism manifest (JSON). The plugin's error, its WASI stdout/stderr and its log lines\n"
          "go to stderr.\n"
          "--input takes the input text itself, as `extism call` and `warmpool run` do (run's\n"
          "--input took a file before; both now read one with --input-file). No input option\n"
          "means empty input.\n"
          "--allow-path maps a host directory into the plugin's WASI file system (needs --wasi).\n"
          "HTTP requests are denied unless a --allow-host glob matches the URL's host.\n",
      .footer = std::string(kExitCodesHelp) +
                "\nExamples:\n"
                "  warmpool call count_vowels.wasm count_vowels --input 'hello world'\n"
                "  warmpool call plugin.json greet --input-file name.txt --config greeting=Hi\n"
                "  warmpool call --wasi --engine v8 --loop 3 code.wasm count_vowels --stdin\n"};
}

struct CallOptions {
  std::string plugin;
  std::string function;
  std::optional<std::string> input_text;
  std::optional<std::string> input_file;
  bool read_stdin = false;
  std::vector<std::string> config;
  bool wasi = false;
  std::vector<std::string> allow_hosts;
  std::vector<std::string> allow_paths;
  std::optional<std::uint64_t> timeout_ms;
  std::optional<std::uint32_t> max_pages;
  std::string log_level = "off";
  std::string engine = default_engine();
  std::uint64_t loop = 1;
};

// The manifest flags applied over what the file says.
std::optional<UsageError> apply_flags(const CallOptions& o, extism::Manifest& manifest) {
  for (const std::string& pair : o.config) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError{"--config: expected KEY=VALUE, got '" + pair + "'"};
    }
    manifest.config[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  if (!o.allow_hosts.empty()) {
    if (!manifest.allowed_hosts) manifest.allowed_hosts.emplace();
    manifest.allowed_hosts->insert(manifest.allowed_hosts->end(), o.allow_hosts.begin(),
                                   o.allow_hosts.end());
  }
  for (const std::string& mapping : o.allow_paths) {
    const bool read_only = mapping.starts_with("ro:");
    std::string host = read_only ? mapping.substr(3) : mapping;
    std::string guest = host;
    if (auto colon = host.find(':'); colon != std::string::npos) {
      guest = host.substr(colon + 1);
      host.resize(colon);
    }
    manifest.allowed_paths.push_back({host, guest, read_only});
  }
  if (o.timeout_ms) manifest.timeout = std::chrono::milliseconds(*o.timeout_ms);
  if (o.max_pages) manifest.max_pages = *o.max_pages;
  return std::nullopt;
}

std::expected<std::string, std::string> call_input(const CallOptions& o) {
  if (o.input_text) return *o.input_text;
  if (o.input_file) return read_input(*o.input_file);
  if (o.read_stdin) return read_input("-");
  return std::string();
}

int call_plugin(const CallOptions& o) {
  set_interrupted_activity("loading " + o.plugin);
  auto manifest = extism::Manifest::load_file(o.plugin);
  if (!manifest) return fail(kExitUsage, "call", manifest.error().message());
  if (auto bad = apply_flags(o, *manifest)) return usage_error("call", *bad);
  auto input = call_input(o);
  if (!input) return fail(kExitUsage, "call", input.error());

  extism::PluginOptions options{.engine = *wasm::Engine::named(o.engine), .wasi = o.wasi};
  options.log_level = extism::log_level_named(o.log_level);
  options.log_sink = [](extism::LogLevel level, std::string_view message) {
    std::cerr << '[' << extism::to_string(level) << "] " << message << '\n';
  };
  auto plugin = extism::Plugin::create(*manifest, std::move(options));
  if (!plugin) return fail(kExitUsage, "call", plugin.error().message());
  if (!plugin->function_exists(o.function)) {
    return fail(kExitUsage, "call", "Function not found: " + o.function);
  }

  set_interrupted_activity("calling '" + o.function + "' in " + o.plugin);
  for (std::uint64_t i = 0; i < o.loop; ++i) {
    auto out = plugin->call(o.function, *input);
    std::cerr << plugin->last_stdout() << plugin->last_stderr();
    if (!out) return fail(kExitPluginFailure, "call", out.error().message());
    std::cout << *out << std::flush;
  }
  return kExitOk;
}

}  // namespace

int call_main(std::span<const std::string> args) {
  CLI::App app;
  configure_command(app, call_help());
  CallOptions o;
  std::string input_text;
  std::string input_file;
  std::uint64_t timeout_ms = 0;
  std::uint32_t max_pages = 0;
  auto* text =
      app.add_option("--input", input_text, "the input bytes, given as text")->type_name("TEXT");
  auto* file = app.add_option("--input-file", input_file, "read the input from a file")
                   ->type_name("FILE")
                   ->excludes(text);
  app.add_flag("--stdin", o.read_stdin, "read the input from stdin")
      ->excludes(text)
      ->excludes(file);
  add_repeatable(app, "--config", o.config, "a config value the plugin can read (repeatable)")
      ->type_name("KEY=VALUE");
  app.add_flag("--wasi", o.wasi, "provide WASI (wasi_snapshot_preview1) to the plugin");
  add_repeatable(app, "--allow-host", o.allow_hosts,
                 "a host (glob) HTTP requests may go to (repeatable)")
      ->type_name("HOST");
  add_repeatable(app, "--allow-path", o.allow_paths,
                 "a host directory for WASI, seen as GUEST (repeatable; 'ro:' prefix = read-only)")
      ->type_name("HOST[:GUEST]");
  app.add_option("--timeout-ms", timeout_ms, "wall-clock limit per call in ms (0 = none)")
      ->type_name("N")
      ->check(integer_in(0, 86'400'000));
  app.add_option("--max-pages", max_pages, "cap on plugin and kernel memory in 64 KiB pages")
      ->type_name("N")
      ->check(integer_in(1, 65536));
  app.add_option("--log-level", o.log_level, "plugin log lines shown on stderr (default off)")
      ->type_name("trace|debug|info|warn|error|off")
      ->check(one_of({"trace", "debug", "info", "warn", "error", "off"}));
  std::vector<std::string> engines;
  for (auto name : wasm::Engine::available()) engines.emplace_back(name);
  app.add_option("--engine", o.engine, "WebAssembly engine (default " + default_engine() + ")")
      ->type_name("wabt|v8")
      ->check(one_of(engines));
  app.add_option("--loop", o.loop, "call N times on the same instance (default 1)")
      ->type_name("N")
      ->check(integer_in(1, 1'000'000'000));
  app.add_option("PLUGIN", o.plugin, "a .wasm file or an Extism manifest (.json)")->type_name("");
  app.add_option("FUNCTION", o.function, "the plugin function to call")->type_name("");
  if (auto exit_code = parse_command(app, "call", args)) return *exit_code;
  if (!given(app, "FUNCTION")) return usage_error("call", {"expected PLUGIN and FUNCTION"});
  if (given(app, "--input")) o.input_text = input_text;
  if (given(app, "--input-file")) o.input_file = input_file;
  if (given(app, "--timeout-ms") && timeout_ms > 0) o.timeout_ms = timeout_ms;
  if (given(app, "--max-pages")) o.max_pages = max_pages;

  if (auto bad = check_readable_file(o.plugin, "PLUGIN")) return fail(kExitUsage, "call", *bad);
  if (o.input_file) {
    if (auto bad = check_readable_file(*o.input_file, "--input-file")) {
      return fail(kExitUsage, "call", *bad);
    }
  }
  exit_on_interrupt("call");
  return call_plugin(o);
}

}  // namespace warmpool::cli
