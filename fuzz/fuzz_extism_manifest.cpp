// Fuzzes the Extism manifest parser (warmpool/extism/manifest.hpp) with any
// bytes as manifest JSON: it must return a manifest or an error naming a
// field, never crash. A manifest that parses must describe what it read:
// at least one module, exactly one plugin module among them.
//
// Relative `path` sources resolve against a folder holding one small module
// (seed.wasm), so the fuzzer can reach the file branch. Inputs naming an
// absolute path or `..` are skipped: they would read whatever the machine
// holds (/dev/zero never ends), which tests the machine, not the parser.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "warmpool/extism/manifest.hpp"

namespace {

namespace fs = std::filesystem;

// The smallest valid module: magic and version.
constexpr unsigned char kEmptyModule[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

fs::path module_folder() {
  fs::path folder =
      fs::temp_directory_path() / ("warmpool_fuzz_manifest_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  std::ofstream(folder / "seed.wasm", std::ios::binary)
      .write(reinterpret_cast<const char*>(kEmptyModule), sizeof kEmptyModule);
  return folder;
}

bool escapes(std::string_view path) {
  return path.starts_with('/') || path.find("..") != std::string_view::npos;
}

// True when some wasm[].path could leave the module folder.
bool names_outside_files(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("wasm") || !json["wasm"].is_array()) return false;
  for (const auto& entry : json["wasm"]) {
    if (!entry.is_object() || !entry.contains("path")) continue;
    const auto& path = entry["path"];
    if (!path.is_string() || escapes(path.get_ref<const std::string&>())) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path folder = module_folder();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (names_outside_files(text)) return -1;
  auto manifest = warmpool::extism::Manifest::parse(text, folder);
  if (!manifest) {
    if (manifest.error().message().empty()) {
      std::fprintf(stderr, "manifest error without a message\n");
      std::abort();
    }
    return 0;
  }
  if (manifest->wasm.empty() || manifest->main_module() == nullptr) {
    std::fprintf(stderr, "a manifest without a plugin module parsed\n");
    std::abort();
  }
  return 0;
}
