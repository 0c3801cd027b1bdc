// Finds an export by name with an error that lists what the plugin does
// export, so a typo is easy to fix.
//
//   auto fn = find_export_or_explain(*module, "rendr");
//   // error: "markdown.wasm: export 'rendr' not found (exports: render, wp_alloc)"
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "warmpool/wasm/types.hpp"

namespace warmpool::cli {

template <class Module>
std::expected<const wasm::ExportedFunction*, std::string> find_export_or_explain(
    const Module& module, std::string_view name) {
  if (const auto* fn = module.find_export(name)) return fn;
  std::string list;
  for (const auto& e : module.exports()) list += (list.empty() ? "" : ", ") + e.name;
  return std::unexpected(module.name() + ": export '" + std::string(name) +
                         "' not found (exports: " + (list.empty() ? "none" : list) + ")");
}

}  // namespace warmpool::cli
