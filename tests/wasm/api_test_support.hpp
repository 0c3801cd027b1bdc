// tests/wasm/api_test_support.hpp — the embedding API's tests run one body on every engine
// this build has (TEST_P over EngineTest), with small helpers that fail the test with the
// library's own error.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "warmpool/wasm/wasm.hpp"

namespace warmpool::wasm::testing {

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

class EngineTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  Engine engine() const { return *Engine::named(GetParam()); }

  Module compile(std::string_view wat, const Limits& limits = {}, std::string name = "test.wat") {
    auto module = Module::compile(engine(), as_bytes(wat), limits, std::move(name));
    if (!module) throw std::runtime_error(module.error().message());
    return *module;
  }

  LinkedModule link(const Linker& linker, const Module& module) {
    auto linked = linker.link(module);
    if (!linked) throw std::runtime_error(linked.error().message());
    return *linked;
  }

  Instance instantiate(const LinkedModule& linked) {
    auto instance = Instance::instantiate(linked);
    if (!instance) throw std::runtime_error(instance.error().message());
    return std::move(*instance);
  }

  // A module without imports (or with WASI ones), instantiated.
  Instance instantiate(std::string_view wat, const Limits& limits = {},
                       std::string name = "test.wat") {
    return instantiate(link(Linker().define_wasi(), compile(wat, limits, std::move(name))));
  }

  // A file (a plugin, or a module of tests/wasm/data) linked against WASI.
  LinkedModule load(const std::filesystem::path& path, const Limits& limits = {}) {
    auto module = Module::load_file(engine(), path, limits);
    if (!module) throw std::runtime_error(module.error().message());
    return link(Linker().define_wasi(), *module);
  }

  Instance instance_of(const std::filesystem::path& path, const Limits& limits = {}) {
    return instantiate(load(path, limits));
  }
};

inline std::string engine_name(const ::testing::TestParamInfo<std::string_view>& info) {
  return std::string(info.param);
}

}  // namespace warmpool::wasm::testing

// Each test file instantiates its suites on every engine of the build.
#define WARMPOOL_ON_EVERY_ENGINE(Suite)                                                \
  INSTANTIATE_TEST_SUITE_P(Engines, Suite,                                             \
                           ::testing::ValuesIn(::warmpool::wasm::Engine::available()), \
                           ::warmpool::wasm::testing::engine_name)
