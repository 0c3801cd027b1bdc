// The pool flags shared by `bench` and `serve`: --warm, --max, --policy,
// --acquire-timeout-ms, mapped onto warmpool::PoolConfig.
//
//   PoolFlags pool_flags(app, {.acquire_timeout = 1000ms, .acquire_timeout_help = "..."});
//   if (auto exit_code = parse_command(app, "serve", args)) return *exit_code;
//   auto cfg = pool_flags.config(/*default_max=*/threads);   // or a UsageError
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "diagnostics.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::cli {

struct PoolDefaults {
  std::chrono::milliseconds acquire_timeout;
  // What --acquire-timeout-ms bounds, for --help.
  std::string acquire_timeout_help;
};

class PoolFlags {
 public:
  // Adds the flags to `app`; they write into this object, which must stay put.
  PoolFlags(CLI::App& app, PoolDefaults defaults);
  PoolFlags(const PoolFlags&) = delete;
  PoolFlags& operator=(const PoolFlags&) = delete;

  // The parsed values; `default_max` applies when --max is absent and --warm
  // defaults to the maximum. --warm above --max is an error.
  std::expected<PoolConfig, UsageError> config(std::size_t default_max) const;

  // The flags that only mean something with a pool (--warm, --max, --policy).
  std::vector<CLI::Option*> shape_options() const {
    return {warm_option_, max_option_, policy_option_};
  }

 private:
  std::uint64_t max_ = 0;
  std::uint64_t warm_ = 0;
  std::string policy_ = "reuse";
  std::uint64_t acquire_timeout_ms_ = 0;
  CLI::Option* max_option_ = nullptr;
  CLI::Option* warm_option_ = nullptr;
  CLI::Option* policy_option_ = nullptr;
};

std::string_view policy_name(Recycle r);

}  // namespace warmpool::cli
