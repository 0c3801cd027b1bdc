#include "reference_host_functions.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>

#include "warmpool/extism/kernel.hpp"

namespace warmpool::extism::testing {

using wasm::Caller;
using wasm::HostFunction;

std::optional<HostFunction> reference_host_function(std::string_view name) {
  if (name == "prefix_host") {
    return HostFunction::wrap([](Caller& caller, std::int64_t block) {
      Kernel& kernel = *Kernel::of(caller);
      std::string text = "HOST:" + std::string(kernel.text(static_cast<Handle>(block)));
      return static_cast<std::int64_t>(kernel.allocate_bytes(text));
    });
  }
  if (name == "throw_host") {
    return HostFunction::wrap([](std::int64_t) -> std::expected<std::int64_t, std::string> {
      return std::unexpected("host function failed on purpose");
    });
  }
  if (name == "mult_host") {
    return HostFunction::wrap([](std::int64_t a, std::int64_t b) { return a * b; });
  }
  if (name == "count_times_10") {
    return HostFunction::wrap([](Caller& caller, std::int64_t block) {
      Kernel& kernel = *Kernel::of(caller);
      auto in = nlohmann::json::parse(kernel.text(static_cast<Handle>(block)));
      nlohmann::json out = {{"count", in["count"].get<std::int64_t>() * 10}};
      return static_cast<std::int64_t>(kernel.allocate_bytes(out.dump()));
    });
  }
  if (name == "now_ms_host") {
    return HostFunction::wrap([] {
      return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
    });
  }
  if (name == "notify_host") return HostFunction::wrap([] {});
  if (name == "var_reflect_host") {
    // Looks up the var named by the key the plugin passes. The plugin passes the block
    // var_set already freed, so under the Rust kernel's rules the host reads "" and finds
    // nothing; it only must not fail.
    return HostFunction::wrap([](Caller& caller, std::int64_t key) {
      Kernel& kernel = *Kernel::of(caller);
      (void)kernel.var(kernel.text(static_cast<Handle>(key)));
    });
  }
  return std::nullopt;
}

}  // namespace warmpool::extism::testing
