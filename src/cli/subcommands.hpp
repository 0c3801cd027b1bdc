// Entry points of the `warmpool` subcommands; `args` excludes the program and
// subcommand names. Each returns an exit code (exit_code.hpp).
#pragma once

#include <span>
#include <string>

namespace warmpool::cli {

int run_main(std::span<const std::string> args);
int bench_main(std::span<const std::string> args);
int serve_main(std::span<const std::string> args);
int call_main(std::span<const std::string> args);

}  // namespace warmpool::cli
