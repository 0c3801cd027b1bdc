// Shared helpers of the V8 loader tests: load a bundled plugin or an inline .wat module.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "warmpool/wasm/v8.hpp"

namespace warmpool::wasm::v8::testing {

inline std::filesystem::path plugin_path(std::string_view name) {
  return std::filesystem::path(WARMPOOL_PLUGIN_DIR) / (std::string(name) + ".wasm");
}

inline std::shared_ptr<const Module> plugin(std::string_view name, const Limits& limits = {}) {
  auto module = Module::load_file(plugin_path(name), limits);
  EXPECT_TRUE(module) << module.error();
  return module ? *module : nullptr;
}

inline std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

inline std::shared_ptr<const Module> wat(std::string_view text, const Limits& limits = {},
                                         std::string name = "test.wat") {
  auto module = Module::compile(bytes(text), limits, std::move(name));
  EXPECT_TRUE(module) << module.error();
  return module ? *module : nullptr;
}

}  // namespace warmpool::wasm::v8::testing
