// `warmpool run`: load a plugin, call one export once, print what it returns.
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "engine_flags.hpp"
#include "engines.hpp"
#include "exit_code.hpp"
#include "export_lookup.hpp"
#include "input_file.hpp"
#include "subcommands.hpp"
#include "value_text.hpp"

namespace warmpool::cli {
namespace {

constexpr FlagSpec kRunFlags[] = {{"input", "FILE|-"}};

void print_help() {
  std::cout
      << "Usage: warmpool run [options] PLUGIN EXPORT [ARGS...]\n\n"
         "Loads PLUGIN (.wasm or .wat), calls EXPORT once and prints the result.\n"
         "A numeric export gets ARGS parsed by its parameter types and prints one result per\n"
         "line. A bytes export ((i32 ptr, i32 len) -> i64, see docs/plugin-abi.md) reads its\n"
         "input from --input and writes its output bytes to stdout; what the plugin prints to\n"
         "its stdout/stderr is passed through.\n\n"
         "Options:\n"
      << engine_flags_help()
      << "  --input FILE|-          input bytes for a bytes export ('-' = stdin; default empty)\n"
         "  -h, --help              show this help\n\n"
      << kExitCodesHelp
      << "\nExamples:\n"
         "  warmpool run build/plugins/fib.wasm fib 25\n"
         "  echo 'hello' | warmpool run --input - build/plugins/upper.wasm upper\n"
         "  warmpool run --input README.md build/plugins/markdown.wasm render > readme.html\n"
         "  warmpool run --fuel 1000000 --timeout-ms 100 build/plugins/spin.wasm spin\n";
}

struct RunOptions {
  EngineOptions engine;
  std::string plugin;
  std::string export_name;
  std::vector<std::string> args;
  std::optional<std::string> input;
};

template <class Engine>
int run_with(const RunOptions& o) {
  auto module = Engine::Module::load_file(o.plugin, o.engine.limits);
  if (!module) return fail_loading(kExitUsage, "run", o.plugin, module.error());
  auto fn = find_export_or_explain(**module, o.export_name);
  if (!fn) return fail(kExitUsage, "run", fn.error());
  const wasm::FunctionType& type = (*fn)->type;

  const bool bytes_call = o.input.has_value() || (is_bytes_export(type) && o.args.empty());
  std::string input;
  std::vector<wasm::Value> values;
  if (bytes_call) {
    if (!is_bytes_export(type)) {
      return fail(kExitUsage, "run",
                  (*module)->name() + ": export '" + o.export_name + "' has type " +
                      signature(type) +
                      ", not the bytes type (i32, i32) -> (i64) that --input needs");
    }
    if (!o.args.empty()) {
      return usage_error("run", {"a bytes export takes its input from --input, not ARGS"});
    }
    if (o.input) {
      auto data = read_input(*o.input);
      if (!data) return fail(kExitUsage, "run", data.error());
      input = std::move(*data);
    }
  } else {
    if (o.args.size() != type.params.size()) {
      return usage_error("run", {(*module)->name() + ": export '" + o.export_name + "' " +
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

  auto instance = Engine::Instance::instantiate(*module);
  if (!instance) return fail(kExitUsage, "run", instance.error());

  if (bytes_call) {
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    auto out = instance->call_bytes(o.export_name, bytes);
    if (!out) return fail(kExitPluginFailure, "run", out.error());
    std::cerr << out->stderr_text;
    std::cout << out->stdout_text << out->output << std::flush;
    return kExitOk;
  }
  auto results = instance->call(o.export_name, values);
  if constexpr (requires { instance->last_stdout(); }) {
    std::cerr << instance->last_stderr();
    std::cout << instance->last_stdout() << std::flush;
  }
  if (!results) return fail(kExitPluginFailure, "run", results.error());
  for (const auto& v : *results) std::cout << format_value(v) << '\n';
  return kExitOk;
}

}  // namespace

int run_main(std::span<const std::string> args) {
  auto specs = with_flags({kEngineFlags, kRunFlags});
  auto parsed = parse_args(args, specs);
  if (!parsed) return usage_error("run", parsed.error());
  if (parsed->help) {
    print_help();
    return kExitOk;
  }
  FlagReader flags(*parsed);
  RunOptions o;
  o.engine = read_engine_options(flags);
  o.input = flags.string("input");
  if (flags.error()) return usage_error("run", *flags.error());
  if (parsed->positionals.size() < 2) {
    return usage_error("run", {"expected PLUGIN and EXPORT"});
  }
  o.plugin = parsed->positionals[0];
  o.export_name = parsed->positionals[1];
  o.args.assign(parsed->positionals.begin() + 2, parsed->positionals.end());
  return with_engine(o.engine.engine, [&]<class E>(E) { return run_with<E>(o); });
}

}  // namespace warmpool::cli
