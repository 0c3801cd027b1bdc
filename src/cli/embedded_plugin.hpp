// The plugin compiled into the `warmpool` binary, so `warmpool bench` runs
// with no arguments on a fresh machine: the bundled Markdown renderer
// (plugins/markdown.c, bytes export `render`) and a sample document for it.
//
//   auto module = wabt::Module::compile(embedded_plugin_bytes(), {}, kEmbeddedPluginName);
//   instance.call_bytes(kEmbeddedPluginExport, as_bytes(kEmbeddedSampleInput));
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace warmpool::cli {

inline constexpr std::string_view kEmbeddedPluginName = "markdown.wasm (embedded)";
inline constexpr std::string_view kEmbeddedPluginExport = "render";

std::span<const std::uint8_t> embedded_plugin_bytes();

// A Markdown page of about 1.5 KiB using the constructs the renderer supports.
extern const std::string_view kEmbeddedSampleInput;

}  // namespace warmpool::cli
