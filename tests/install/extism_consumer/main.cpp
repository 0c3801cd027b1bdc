// The Extism host from an installed warmpool (find_package COMPONENTS extism): a plugin in
// .wat that outputs config["greeting"].
#include <warmpool/extism/extism.hpp>

#include <iostream>
#include <string_view>

int main() {
  constexpr std::string_view kPlugin = R"((module
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
    (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
    (import "extism:host/env" "length" (func $length (param i64) (result i64)))
    (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
    (func (export "greet") (result i32)
      (local $key i64) (local $value i64)
      (local.set $key (call $alloc (i64.const 1)))
      (call $store_u8 (local.get $key) (i32.const 103))
      (local.set $value (call $config_get (local.get $key)))
      (call $output_set (local.get $value) (call $length (local.get $value)))
      (i32.const 0))))";
  namespace ex = warmpool::extism;
  auto manifest = ex::Manifest::from_wasm(
      {reinterpret_cast<const std::uint8_t*>(kPlugin.data()), kPlugin.size()}, "greet.wat");
  manifest.config["g"] = "hello from extism";
  auto plugin = ex::Plugin::create(manifest);
  if (!plugin) {
    std::cerr << plugin.error() << '\n';
    return 1;
  }
  auto out = plugin->call("greet", "");
  if (!out) {
    std::cerr << out.error() << '\n';
    return 1;
  }
  std::cout << "extism: " << *out << '\n';
  return 0;
}
