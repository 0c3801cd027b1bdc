// Runs a real WebAssembly module through an installed warmpool, as a downstream
// project would: compile .wat text on the engine this project was configured
// for (with fuel metering, so the preparation pass and the fuel import are
// linked and used), give it a host function, pool an instance, call its export.
#include <cstdint>
#include <iostream>
#include <span>
#include <string_view>
#include <variant>
#include <vector>
#include <warmpool/warmpool.hpp>
#include <warmpool/wasm/pool.hpp>
#include <warmpool/wasm/wasm.hpp>

namespace ww = warmpool::wasm;

int fail(const auto& error) {
  std::cerr << error << '\n';
  return 1;
}

int main() {
  auto engine = ww::Engine::named(WARMPOOL_CONSUMER_ENGINE);
  if (!engine) {
    std::cerr << "no engine '" << WARMPOOL_CONSUMER_ENGINE << "' in this program\n";
    return 1;
  }
  constexpr std::string_view wat = R"((module
    (import "env" "same" (func $same (param i32) (result i32)))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (call $same (local.get 1))))))";
  auto module = ww::Module::compile(
      *engine, std::span(reinterpret_cast<const std::uint8_t*>(wat.data()), wat.size()),
      {.fuel = 1'000'000}, "add.wat");
  if (!module) return fail(module.error());
  auto linked = ww::Linker().define("env", "same", [](std::int32_t x) { return x; }).link(*module);
  if (!linked) return fail(linked.error());

  using Pool = warmpool::InstancePool<ww::Instance, ww::WasmError, ww::InstanceLifecycle>;
  auto pool = Pool::create({.max_instances = 1, .warm_count = 1},
                           [linked = *linked] { return ww::Instance::instantiate(linked); });
  if (!pool) return fail(pool.error());
  auto instance = pool->checkout();
  if (!instance) return fail(instance.error());
  const std::vector<ww::Value> args{std::int32_t{40}, std::int32_t{2}};
  auto result = (*instance)->call("add", args);
  if (!result) return fail(result.error());
  if (result->size() != 1 || !std::holds_alternative<std::int32_t>(result->front())) {
    std::cerr << "add returned " << result->size() << " values, expected one i32\n";
    return 1;
  }
  std::cout << engine->name() << ": add(40, 2) = " << std::get<std::int32_t>(result->front())
            << '\n';
  return 0;
}
