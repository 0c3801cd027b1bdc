// Exit codes shared by every `warmpool` subcommand (documented in each --help
// and in README), so scripts can tell "your plugin failed" from "you called me
// wrong".
#pragma once

namespace warmpool::cli {

enum ExitCode : int {
  kExitOk = 0,
  // The plugin ran and failed: trap, fuel, deadline, memory cap, ABI violation.
  kExitPluginFailure = 1,
  // Bad command line, or a plugin file that cannot be read, compiled or linked.
  kExitUsage = 2,
  // run and bench, stopped by a signal: 128 + its number, as a shell reports it.
  kExitInterruptedBySigint = 130,
  kExitInterruptedBySigterm = 143,
};

inline constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0         success\n"
    "  1         the plugin failed (trap, fuel exhausted, deadline, memory cap, ABI violation)\n"
    "  2         usage error, or a plugin file that cannot be read, compiled or linked\n"
    "  130, 143  interrupted (128 + signal number: SIGINT, SIGTERM), run and bench\n";

}  // namespace warmpool::cli
