// The host functions the reference results in ../shared/extism/expected were
// recorded with (each file's "host_functions" describes them), in C++.
#pragma once

#include <optional>
#include <string_view>

#include "warmpool/wasm/host_function.hpp"

namespace warmpool::extism::testing {

// nullopt for a name no expected file uses.
std::optional<wasm::HostFunction> reference_host_function(std::string_view name);

}  // namespace warmpool::extism::testing
