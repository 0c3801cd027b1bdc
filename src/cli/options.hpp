// A small, strict command-line parser for the `warmpool` subcommands.
//
// Each subcommand declares its flags; anything else is a usage error with a
// message naming the offending argument. Typed reads validate ranges and
// remember the first error, so a subcommand reads all its flags and checks
// once:
//
//   static constexpr FlagSpec kFlags[] = {{"threads", "N"}, {"json", ""}};
//   auto parsed = parse_args(args, kFlags);
//   if (!parsed) return usage_error("bench", parsed.error());
//   FlagReader flags(*parsed);
//   auto threads = flags.u64("threads", 1, 1, 1024);
//   bool json = flags.flag("json");
//   if (flags.error()) return usage_error("bench", *flags.error());
#pragma once

#include <cstdint>
#include <expected>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace warmpool::cli {

struct FlagSpec {
  std::string_view name;        // without the leading "--"
  std::string_view value_name;  // empty: a boolean flag that takes no value
};

struct UsageError {
  std::string message;
};

struct ParsedArgs {
  std::map<std::string, std::string, std::less<>> values;  // "--name" -> value ("" for booleans)
  std::vector<std::string> positionals;
  bool help = false;  // -h or --help anywhere
};

// Accepts "--name value", "--name=value", "--" (the rest is positional) and
// treats "-" and negative numbers ("-5", "-1.5") as positionals so numeric
// export arguments need no quoting. A flag given twice is an error.
std::expected<ParsedArgs, UsageError> parse_args(std::span<const std::string> args,
                                                 std::span<const FlagSpec> specs);

class FlagReader {
 public:
  explicit FlagReader(const ParsedArgs& parsed) : parsed_(parsed) {}

  bool flag(std::string_view name) const { return parsed_.values.contains(name); }
  bool given(std::string_view name) const { return parsed_.values.contains(name); }
  std::optional<std::string> string(std::string_view name) const;

  // An integer in [min, max]; `fallback` when the flag is absent.
  std::uint64_t u64(std::string_view name, std::uint64_t fallback, std::uint64_t min,
                    std::uint64_t max);
  // A finite number in [min, max]; `fallback` when the flag is absent.
  double number(std::string_view name, double fallback, double min, double max);
  // One of `choices`; `fallback` when the flag is absent.
  std::string choice(std::string_view name, std::string_view fallback,
                     std::initializer_list<std::string_view> choices);
  // "host:port" with port 0..65535.
  std::optional<std::pair<std::string, std::uint16_t>> endpoint(std::string_view name,
                                                                std::string_view fallback);

  // Records an error found by the caller (e.g. two flags that exclude each
  // other); only the first error is kept.
  void fail(std::string message);
  const std::optional<UsageError>& error() const { return error_; }

 private:
  const ParsedArgs& parsed_;
  std::optional<UsageError> error_;
};

}  // namespace warmpool::cli
