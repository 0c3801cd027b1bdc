// `warmpool`: the command-line host. Dispatches to a subcommand.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "exit_code.hpp"
#include "subcommands.hpp"

namespace {

void print_help() {
  std::cout << "Usage: warmpool <command> [options]\n\n"
               "Keeps pre-warmed WebAssembly plugin instances in a pool.\n\n"
               "Commands:\n"
               "  run     call one export of a plugin once and print the result\n"
               "  bench   measure a plugin through the pool vs a fresh instance per call\n"
               "          (with no PLUGIN: a Markdown renderer embedded in this binary)\n"
               "  serve   serve a plugin over HTTP with the pool behind it\n"
               "  call    call one function of an Extism plugin (.wasm or manifest)\n\n"
               "Run 'warmpool <command> --help' for a command's options and examples.\n\n"
            << warmpool::cli::kExitCodesHelp
            << "\nExamples:\n  # paths as in a checkout built with 'cmake --preset release'\n"
               "  warmpool bench\n"
               "  warmpool run build/release/plugins/fib.wasm fib 25\n"
               "  warmpool serve build/release/plugins/echo.wasm --listen 127.0.0.1:8080\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace warmpool::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_help();
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::string_view command = args[0];
  std::span<const std::string> rest(args.begin() + 1, args.end());
  if (command == "run") return run_main(rest);
  if (command == "bench") return bench_main(rest);
  if (command == "serve") return serve_main(rest);
  if (command == "call") return call_main(rest);
  std::cerr << "warmpool: unknown command '" << command << "'\nTry 'warmpool --help'.\n";
  return kExitUsage;
}
