// warmpool/extism/manifest.hpp — the Extism manifest: which wasm modules make a
// plugin, and what the host lets it do.
//
// Reads the Extism manifest JSON (https://extism.org/docs/concepts/manifest)
// with the Rust runtime's rules: unknown fields are errors (serde's
// deny_unknown_fields), a wasm source is a file (`path`, relative to the
// manifest's folder) or base64 `data`, a `hash` is the sha256 the bytes must
// have, and every error names the field. `url` sources are not fetched.
//
//   auto manifest = warmpool::extism::Manifest::load_file("plugin.json");   // or "plugin.wasm"
//   if (!manifest) { std::cerr << manifest.error() << '\n'; return 2; }
//   manifest->config["vowels"] = "aeiouy";
//   auto plugin = warmpool::extism::Plugin::create(*manifest);
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/extism/error.hpp"

namespace warmpool::extism {

// One module of the plugin, its bytes already read and verified.
struct WasmSource {
  std::string name;  // "main" for the plugin itself; other names are import modules
  std::vector<std::uint8_t> bytes;
  std::string label;  // for messages: the file name, or "wasm[1] (data)"
};

// allowed_paths entry: the host directory `host` appears to the guest as `guest`.
struct PathMapping {
  std::filesystem::path host;
  std::string guest;
  bool read_only = false;  // the host path had the `ro:` prefix
};

struct Manifest {
  static constexpr std::uint64_t kDefaultMaxVarBytes = 1024 * 1024;
  static constexpr std::uint64_t kDefaultMaxHttpResponseBytes = 50ull * 1024 * 1024;

  // With several modules, the one named "main" (else the last) is the plugin.
  std::vector<WasmSource> wasm;
  std::map<std::string, std::string, std::less<>> config;
  // nullopt (absent or null): no HTTP at all. Entries are globs on the URL's host.
  std::optional<std::vector<std::string>> allowed_hosts;
  std::vector<PathMapping> allowed_paths;
  // Cap on the plugin's linear memory and, separately, on its kernel memory.
  std::optional<std::uint32_t> max_pages;
  std::uint64_t max_var_bytes = kDefaultMaxVarBytes;  // 0 disables vars
  std::uint64_t max_http_response_bytes = kDefaultMaxHttpResponseBytes;
  std::optional<std::chrono::milliseconds> timeout;  // timeout_ms: one call, host time included

  // Parses manifest JSON; relative paths resolve against `base_dir`.
  static std::expected<Manifest, Error> parse(std::string_view json,
                                              const std::filesystem::path& base_dir = ".");
  // A manifest file (JSON), or a bare .wasm/.wat file as a one-module manifest.
  static std::expected<Manifest, Error> load_file(const std::filesystem::path& path);
  // A one-module manifest around `bytes`, named `label` in messages.
  static Manifest from_wasm(std::span<const std::uint8_t> bytes, std::string label = "plugin.wasm");

  // The plugin module: "main", else the last one. Null when `wasm` is empty.
  const WasmSource* main_module() const;
};

}  // namespace warmpool::extism
