// tests/plugins/plugin_engines.hpp — test-only: the engines the plugin tests run
// on, and loading a bundled plugin (plugins/) by name.
//
//   TYPED_TEST_SUITE(EchoTest, PluginEngines, EngineNames);
//   auto echo = instantiate<TypeParam>("echo");   // throws with the loader's error
//   auto out = echo.call_bytes("echo", as_bytes("hi"));
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "warmpool/wasm/wabt.hpp"
#ifdef WARMPOOL_TEST_V8
#include "warmpool/wasm/v8.hpp"
#endif

namespace warmpool::plugin_test {

struct Wabt {
  using Module = wasm::wabt::Module;
  using Instance = wasm::wabt::Instance;
  static constexpr const char* name = "wabt";
};

#ifdef WARMPOOL_TEST_V8
struct V8 {
  using Module = wasm::v8::Module;
  using Instance = wasm::v8::Instance;
  static constexpr const char* name = "v8";
};
using PluginEngines = ::testing::Types<Wabt, V8>;
#else
using PluginEngines = ::testing::Types<Wabt>;
#endif

struct EngineNames {
  template <class Engine>
  static std::string GetName(int) {
    return Engine::name;
  }
};

inline std::filesystem::path plugin_path(std::string_view plugin) {
  return std::filesystem::path(WARMPOOL_PLUGIN_DIR) / (std::string(plugin) + ".wasm");
}

// Helpers throw on a loader error, which GoogleTest reports as a failure with
// the error's message.
template <class Engine>
std::shared_ptr<const typename Engine::Module> load(std::string_view plugin,
                                                    const wasm::Limits& limits = {}) {
  auto module = Engine::Module::load_file(plugin_path(plugin), limits);
  if (!module) {
    throw std::runtime_error(std::string(Engine::name) + ": " + module.error().message());
  }
  return *module;
}

template <class Engine>
typename Engine::Instance instantiate(std::string_view plugin, const wasm::Limits& limits = {}) {
  auto instance = Engine::Instance::instantiate(load<Engine>(plugin, limits));
  if (!instance) {
    throw std::runtime_error(std::string(Engine::name) + ": " + instance.error().message());
  }
  return std::move(*instance);
}

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace warmpool::plugin_test
