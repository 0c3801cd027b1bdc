// `warmpool run`: load a plugin, call one export once, print what it returns.
#include <expected>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "engine_flags.hpp"
#include "exit_code.hpp"
#include "input_file.hpp"
#include "interrupt.hpp"
#include "options.hpp"
#include "subcommands.hpp"
#include "value_text.hpp"
#include "warmpool/wasm/wasm.hpp"

namespace warmpool::cli {
namespace {

CommandHelp run_help() {
  return {
      .usage = "warmpool run [options] PLUGIN EXPORT [ARGS...]",
      .description =
          "Loads PLUGIN (.wasm or .wat), calls EXPORT once and prints the result.\n"
          "A numeric export gets ARGS parsed by its parameter types (negative numbers need no\n"
          "quoting: add -5 3) and prints one result per line. A bytes export ((i32 ptr, i32 len)\n"
          "-> i64, see docs/plugin-abi.md) takes its input from --input TEXT, --input-file FILE\n"
          "or --stdin (none: empty input) and writes its output bytes to stdout; what the plugin\n"
          "prints to its stdout/stderr is passed through. The input options are those of\n"
          "`warmpool call` (and `extism call`): --input takes the data itself. Before, run's\n"
          "--input took a FILE; that is now --input-file FILE ('-' = stdin).\n"
          "'--' ends the options: every argument after it is PLUGIN, EXPORT or ARGS.\n"
          "Ctrl-C (SIGINT) or SIGTERM stops a call at once, with exit code 130 or 143.\n",
      .footer =
          std::string(kExitCodesHelp) +
          "\nExamples:\n  # paths as in a checkout built with 'cmake --preset release'\n"
          "  warmpool run build/release/plugins/fib.wasm fib 25\n"
          "  warmpool run --input hello build/release/plugins/upper.wasm upper\n"
          "  echo 'hello' | warmpool run --stdin build/release/plugins/upper.wasm upper\n"
          "  warmpool run --input-file README.md build/release/plugins/markdown.wasm render > "
          "readme.html\n"
          "  warmpool run --fuel 1000000 --timeout-ms 100 build/release/plugins/spin.wasm "
          "spin\n"};
}

struct RunOptions {
  EngineOptions engine;
  std::string plugin;
  std::string export_name;
  std::vector<std::string> args;
  // At most one of these (CLI11 excludes the others).
  std::optional<std::string> input_text;
  std::optional<std::string> input_file;  // "-" = stdin
  bool read_stdin = false;

  bool has_input() const { return input_text || input_file || read_stdin; }
};

std::expected<std::string, std::string> run_input(const RunOptions& o) {
  if (o.input_text) return *o.input_text;
  if (o.input_file) return read_input(*o.input_file, "--input-file");
  if (o.read_stdin) return read_input("-", "--stdin");
  return std::string();
}

int run_with(const RunOptions& o) {
  set_interrupted_activity("loading " + o.plugin);
  auto module =
      wasm::Module::load_file(*wasm::Engine::named(o.engine.engine), o.plugin, o.engine.limits);
  if (!module) return fail_loading(kExitUsage, "run", o.plugin, module.error());
  auto linked = wasm::Linker().define_wasi().link(*module);
  if (!linked) return fail_loading(kExitUsage, "run", o.plugin, linked.error());
  auto fn = module->function(o.export_name);
  if (!fn) return fail(kExitUsage, "run", fn.error().message());
  const wasm::FunctionType& type = fn->type();

  const bool bytes_call = o.has_input() || (is_bytes_export(type) && o.args.empty());
  std::string input;
  std::vector<wasm::Value> values;
  if (bytes_call) {
    if (!is_bytes_export(type)) {
      return fail(kExitUsage, "run",
                  module->name() + ": export '" + o.export_name + "' has type " + signature(type) +
                      ", not the bytes type (i32, i32) -> (i64) that an input needs");
    }
    if (!o.args.empty()) {
      return usage_error(
          "run",
          {"a bytes export takes its input from --input, --input-file or --stdin, not ARGS"});
    }
    set_interrupted_activity("reading the input");
    auto data = run_input(o);
    if (!data) return fail(kExitUsage, "run", data.error());
    input = std::move(*data);
  } else {
    if (o.args.size() != type.params.size()) {
      return usage_error("run", {module->name() + ": export '" + o.export_name + "' " +
                                 signature(type) + " takes " + std::to_string(type.params.size()) +
                                 " argument(s), got " + std::to_string(o.args.size())});
    }
    for (std::size_t i = 0; i < o.args.size(); ++i) {
      auto v = parse_value(o.args[i], type.params[i]);
      if (!v) {
        return usage_error("run", {"argument " + std::to_string(i + 1) + " of '" + o.export_name +
                                   "': " + v.error()});
      }
      values.push_back(*v);
    }
  }

  set_interrupted_activity("calling '" + o.export_name + "' in " + module->name());
  auto instance = wasm::Instance::instantiate(*linked);
  if (!instance) return fail(kExitUsage, "run", instance.error());

  if (bytes_call) {
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    auto out = instance->call_bytes(o.export_name, bytes);
    if (!out) return fail(kExitPluginFailure, "run", out.error());
    std::cerr << out->stderr_text;
    std::cout << out->stdout_text << out->output << std::flush;
    return kExitOk;
  }
  auto results = instance->call(*fn, values);
  std::cerr << instance->last_stderr();
  std::cout << instance->last_stdout() << std::flush;
  if (!results) return fail(kExitPluginFailure, "run", results.error());
  for (const auto& v : *results) std::cout << format_value(v) << '\n';
  return kExitOk;
}

}  // namespace

int run_main(std::span<const std::string> args) {
  CLI::App app;
  configure_command(app, run_help());
  RunOptions o;
  std::string input_text;
  std::string input_file;
  auto* text = app.add_option("--input", input_text,
                              "input bytes for a bytes export, given as text (default: empty)")
                   ->type_name("TEXT");
  auto* file = app.add_option("--input-file", input_file,
                              "read the input from a file ('-' = stdin; before: --input FILE)")
                   ->type_name("FILE|-")
                   ->excludes(text);
  app.add_flag("--stdin", o.read_stdin, "read the input from stdin")
      ->excludes(text)
      ->excludes(file);
  EngineFlags engine_flags(app, {});
  app.add_option("PLUGIN", o.plugin, "the plugin, a .wasm or .wat file")->type_name("");
  app.add_option("EXPORT", o.export_name, "the export to call")->type_name("");
  app.add_option("ARGS", o.args, "arguments for a numeric export")->type_name("");
  if (auto exit_code = parse_command(app, "run", args)) return *exit_code;
  if (!given(app, "EXPORT")) return usage_error("run", {"expected PLUGIN and EXPORT"});
  o.engine = engine_flags.options();
  if (given(app, "--input")) o.input_text = input_text;
  if (given(app, "--input-file")) o.input_file = input_file;

  if (auto bad = check_readable_file(o.plugin, "PLUGIN")) return fail(kExitUsage, "run", *bad);
  if (o.input_file && *o.input_file != "-") {
    if (auto bad = check_readable_file(*o.input_file, "--input-file")) {
      return fail(kExitUsage, "run", *bad);
    }
  }
  exit_on_interrupt("run");
  return run_with(o);
}

}  // namespace warmpool::cli
