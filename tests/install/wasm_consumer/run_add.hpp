// Runs a real WebAssembly module through an installed loader, as a downstream
// project would: compile .wat text (with fuel metering, so the preparation
// pass and the engine's fuel import are linked and used), pool an instance,
// call its export.
#pragma once

#include <cstdint>
#include <iostream>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
#include <warmpool/warmpool.hpp>
#include <warmpool/wasm/error.hpp>
#include <warmpool/wasm/types.hpp>

template <class Module, class Instance>
int run_add(std::string_view engine, warmpool::Lifecycle<Instance> lifecycle) {
  using warmpool::wasm::Value;
  using warmpool::wasm::WasmError;
  constexpr std::string_view wat = R"((module
    (func (export "add") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.add)))";
  auto module =
      Module::compile(std::span(reinterpret_cast<const std::uint8_t*>(wat.data()), wat.size()),
                      {.fuel = 1'000'000}, "add.wat");
  if (!module) {
    std::cerr << module.error() << '\n';
    return 1;
  }
  auto pool = warmpool::InstancePool<Instance, WasmError>::create(
      {.max_instances = 1, .warm_count = 1}, [m = *module] { return Instance::instantiate(m); },
      std::move(lifecycle));
  if (!pool) {
    std::cerr << pool.error() << '\n';
    return 1;
  }
  auto instance = pool->checkout();
  if (!instance) {
    std::cerr << instance.error() << '\n';
    return 1;
  }
  const std::vector<Value> args{std::int32_t{40}, std::int32_t{2}};
  auto result = (*instance)->call("add", args);
  if (!result) {
    std::cerr << result.error() << '\n';
    return 1;
  }
  if (result->size() != 1 || !std::holds_alternative<std::int32_t>(result->front())) {
    std::cerr << "add returned " << result->size() << " values, expected one i32\n";
    return 1;
  }
  std::cout << engine << ": add(40, 2) = " << std::get<std::int32_t>(result->front()) << '\n';
  return 0;
}
