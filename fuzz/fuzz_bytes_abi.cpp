// Fuzzes the bytes ABI end to end with real plugins: arbitrary input through
// call_bytes into echo (must come back unchanged) and markdown (must render
// within a budget linear in the input). One instance of each serves every
// input, as in a pool in Reuse mode, so state leaks and memory leaks in the
// plugins or the host accumulate until they show.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>

#include "warmpool/wasm/wasm.hpp"

namespace {

namespace ww = warmpool::wasm;

[[noreturn]] void fail(std::string_view plugin, const ww::WasmError& error) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(plugin.size()), plugin.data(),
               error.message().c_str());
  std::abort();
}

ww::Instance load(const char* file, const ww::Limits& limits) {
  auto module = ww::Module::load_file(ww::Engine::wabt(),
                                      std::string(WARMPOOL_PLUGIN_DIR) + "/" + file, limits);
  if (!module) fail(file, module.error());
  auto linked = ww::Linker().define_wasi().link(*module);
  if (!linked) fail(file, linked.error());
  auto instance = ww::Instance::instantiate(*linked);
  if (!instance) fail(file, instance.error());
  return std::move(*instance);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Markdown renders in under 10,000 metered units per input byte (see
  // tests/plugins/markdown_test.cpp), so 2,000 bytes fit twice over in the
  // budget; the cap holds 256 pages (16 MiB).
  static ww::Instance echo = load("echo.wasm", {.max_memory_pages = 256});
  static ww::Instance markdown =
      load("markdown.wasm", {.fuel = 40'000'000, .max_memory_pages = 256});
  if (size > 2000) return -1;  // beyond the size the fuel budget is sized for

  const std::span input(data, size);
  auto echoed = echo.call_bytes("echo", input);
  if (!echoed) fail("echo.wasm", echoed.error());
  if (echoed->output != std::string_view(reinterpret_cast<const char*>(data), size)) {
    std::fprintf(stderr, "echo.wasm: output differs from input\n");
    std::abort();
  }

  auto html = markdown.call_bytes("render", input);
  if (!html) fail("markdown.wasm", html.error());
  return 0;
}
