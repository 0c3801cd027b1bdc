#include "pool_flags.hpp"

namespace warmpool::cli {

std::string pool_flags_help(std::size_t default_max, std::string_view default_acquire_timeout) {
  return "  --max L                 at most L live instances (default " +
         std::to_string(default_max) +
         ")\n"
         "  --warm K                instances built up front and kept ready (default: --max)\n"
         "  --policy reuse|reset|fresh\n"
         "                          after a call: keep the instance as is (default), restore it\n"
         "                          to its post-instantiation state, or replace it with a new one\n"
         "  --acquire-timeout-ms N  how long a call waits for a free instance when all L are\n"
         "                          busy (default " +
         std::string(default_acquire_timeout) + ")\n";
}

PoolConfig read_pool_config(FlagReader& flags, std::size_t default_max,
                            std::chrono::milliseconds default_acquire_timeout) {
  PoolConfig cfg;
  cfg.max_instances = flags.u64("max", default_max, 1, 4096);
  cfg.warm_count = flags.u64("warm", cfg.max_instances, 0, 4096);
  if (cfg.warm_count > cfg.max_instances) {
    flags.fail("--warm " + std::to_string(cfg.warm_count) + " is more than --max " +
               std::to_string(cfg.max_instances));
  }
  auto policy = flags.choice("policy", "reuse", {"reuse", "reset", "fresh"});
  cfg.recycle = policy == "reset"   ? Recycle::Reset
                : policy == "fresh" ? Recycle::Fresh
                                    : Recycle::Reuse;
  cfg.acquire_timeout = std::chrono::milliseconds(
      flags.u64("acquire-timeout-ms", static_cast<std::uint64_t>(default_acquire_timeout.count()),
                0, 3600 * 1000));
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
