// Command-line parsing for the `warmpool` subcommands, on top of CLI11.
//
// Each subcommand builds a CLI::App, binds its flags to variables, and calls
// parse_command(), which prints --help (exit 0) or a usage error naming the
// flag and the bad value (exit 2):
//
//   CLI::App app;
//   configure_command(app, {.usage = "warmpool bench [options]", ...});
//   std::uint64_t threads = 2;
//   app.add_option("--threads", threads, "concurrent callers (1..256, default 2)")
//       ->type_name("N")->check(integer_in(1, 256));
//   if (auto exit_code = parse_command(app, "bench", args)) return *exit_code;
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.hpp"

namespace warmpool::cli {

// What --help shows around the flags CLI11 lists itself.
struct CommandHelp {
  std::string usage;        // after "Usage: ", e.g. "warmpool run [options] PLUGIN EXPORT"
  std::string description;  // paragraphs between the usage line and the flags
  std::string footer;       // after the flags: exit codes, examples
};

// Sets up `app` for one subcommand: our help layout, -h/--help, every flag
// given at most once (but those added with add_repeatable).
void configure_command(CLI::App& app, CommandHelp help);

// Parses `args` (without program and subcommand names) into `app`'s bound
// variables. nullopt: carry on. Otherwise the exit code to return at once,
// after --help went to stdout (0) or a usage error to stderr (2).
std::optional<int> parse_command(CLI::App& app, std::string_view command,
                                 std::span<const std::string> args);

// Adds an option that may be given several times, each occurrence taking
// exactly one value: "--allow-host a --allow-host b PLUGIN" collects a and b
// and leaves PLUGIN a positional (a plain CLI11 vector option would take every
// word up to the next flag).
CLI::Option* add_repeatable(CLI::App& app, const std::string& name,
                            std::vector<std::string>& values, const std::string& description);

// Whether `flag` ("--calls") was given on the command line.
bool given(const CLI::App& app, std::string_view flag);

// "--no-pool and --max exclude each other" when `flag` and one of `others`
// were both given; nullopt otherwise.
std::optional<UsageError> excluding_each_other(const CLI::App& app, std::string_view flag,
                                               std::initializer_list<std::string_view> others);

// Value checks whose messages name the expected range and the value, e.g.
// "expected an integer from 1 to 256, got 'x'" (CLI11 prefixes the flag).
std::expected<std::uint64_t, std::string> parse_integer(std::string_view text, std::uint64_t min,
                                                        std::uint64_t max);
CLI::Validator integer_in(std::uint64_t min, std::uint64_t max);
CLI::Validator number_in(double min, double max);
CLI::Validator one_of(std::vector<std::string> choices);

}  // namespace warmpool::cli
