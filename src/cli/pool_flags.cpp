#include "pool_flags.hpp"

#include "options.hpp"

namespace warmpool::cli {
namespace {

constexpr const char* kGroup = "Pool";
constexpr std::uint64_t kMostInstances = 4096;

}  // namespace

PoolFlags::PoolFlags(CLI::App& app, PoolDefaults defaults)
    : acquire_timeout_ms_(static_cast<std::uint64_t>(defaults.acquire_timeout.count())) {
  max_option_ =
      app.add_option("--max", max_, "at most L live instances (1..4096; default: --threads)")
          ->type_name("L")
          ->check(integer_in(1, kMostInstances))
          ->group(kGroup);
  warm_option_ = app.add_option("--warm", warm_,
                                "instances built up front and kept ready\n(0..4096, at most "
                                "--max; default: --max)")
                     ->type_name("K")
                     ->check(integer_in(0, kMostInstances))
                     ->group(kGroup);
  policy_option_ =
      app.add_option("--policy", policy_,
                     "after a call: keep the instance as is (reuse, default),\nrestore it to its "
                     "post-instantiation state (reset),\nor replace it with a new one (fresh)")
          ->type_name("reuse|reset|fresh")
          ->check(one_of({"reuse", "reset", "fresh"}))
          ->group(kGroup);
  app.add_option("--acquire-timeout-ms", acquire_timeout_ms_,
                 defaults.acquire_timeout_help + "\n(0..3600000; default " +
                     std::to_string(defaults.acquire_timeout.count()) + ")")
      ->type_name("N")
      ->check(integer_in(0, 3600 * 1000))
      ->group(kGroup);
}

std::expected<PoolConfig, UsageError> PoolFlags::config(std::size_t default_max) const {
  PoolConfig cfg;
  cfg.max_instances = max_option_->count() > 0 ? max_ : default_max;
  cfg.warm_count = warm_option_->count() > 0 ? warm_ : cfg.max_instances;
  if (cfg.warm_count > cfg.max_instances) {
    return std::unexpected(UsageError{"--warm " + std::to_string(cfg.warm_count) +
                                      " is more than --max " + std::to_string(cfg.max_instances)});
  }
  cfg.recycle = policy_ == "reset"   ? Recycle::Reset
                : policy_ == "fresh" ? Recycle::Fresh
                                     : Recycle::Reuse;
  cfg.acquire_timeout = std::chrono::milliseconds(acquire_timeout_ms_);
  return cfg;
}

std::string_view policy_name(Recycle r) {
  switch (r) {
    case Recycle::Reuse: return "reuse";
    case Recycle::Reset: return "reset";
    case Recycle::Fresh: return "fresh";
  }
  return "?";
}

}  // namespace warmpool::cli
