// The pool flags shared by `bench` and `serve`: --warm, --max, --policy,
// --acquire-timeout-ms, mapped onto warmpool::PoolConfig.
//
//   PoolConfig cfg = read_pool_config(reader, /*default_max=*/threads);
#pragma once

#include <string>
#include <string_view>

#include "options.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::cli {

inline constexpr FlagSpec kPoolFlags[] = {
    {"warm", "K"}, {"max", "L"}, {"policy", "reuse|reset|fresh"}, {"acquire-timeout-ms", "N"}};

std::string pool_flags_help(std::size_t default_max, std::string_view default_acquire_timeout);

// `default_max` applies when --max is absent; --warm defaults to the maximum.
PoolConfig read_pool_config(FlagReader& flags, std::size_t default_max,
                            std::chrono::milliseconds default_acquire_timeout);

std::string_view policy_name(Recycle r);

}  // namespace warmpool::cli
