// tests/plugins/plugin_engines.hpp — test-only: the plugin tests run one body on every engine
// this build has (TEST_P over PluginEngineTest), loading a bundled plugin (plugins/) by name.
//
//   class EchoTest : public PluginEngineTest {};
//   WARMPOOL_ON_EVERY_ENGINE(EchoTest);
//   TEST_P(EchoTest, Echoes) {
//     auto echo = instantiate("echo");           // throws with the library's error
//     auto out = echo.call_bytes("echo", as_bytes("hi"));
//   }
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "warmpool/wasm/wasm.hpp"

namespace warmpool::plugin_test {

inline std::filesystem::path plugin_path(std::string_view plugin) {
  return std::filesystem::path(WARMPOOL_PLUGIN_DIR) / (std::string(plugin) + ".wasm");
}

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Helpers throw on a library error, which GoogleTest reports as a failure with its message.
class PluginEngineTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  wasm::Engine engine() const { return *wasm::Engine::named(GetParam()); }

  // The plugin compiled and linked against the WASI subset, as the CLI does.
  wasm::LinkedModule load(std::string_view plugin, const wasm::Limits& limits = {}) const {
    auto module = wasm::Module::load_file(engine(), plugin_path(plugin), limits);
    if (!module) throw std::runtime_error(module.error().message());
    auto linked = wasm::Linker().define_wasi().link(*module);
    if (!linked) throw std::runtime_error(linked.error().message());
    return *linked;
  }

  wasm::Instance instantiate(std::string_view plugin, const wasm::Limits& limits = {}) const {
    auto instance = wasm::Instance::instantiate(load(plugin, limits));
    if (!instance) throw std::runtime_error(instance.error().message());
    return std::move(*instance);
  }
};

}  // namespace warmpool::plugin_test

#define WARMPOOL_ON_EVERY_ENGINE(Suite)                                                \
  INSTANTIATE_TEST_SUITE_P(Engines, Suite,                                             \
                           ::testing::ValuesIn(::warmpool::wasm::Engine::available()), \
                           [](const auto& info) { return std::string(info.param); })
