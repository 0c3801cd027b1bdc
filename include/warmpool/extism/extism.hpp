// warmpool/extism/extism.hpp — run unmodified Extism plugins
// (https://extism.org) on any warmpool engine, in one include.
//
//   namespace ex = warmpool::extism;
//   auto manifest = ex::Manifest::load_file("plugin.json");      // or a .wasm file
//   auto plugin = ex::Plugin::create(*manifest, {.wasi = true});
//   auto out = plugin->call("count_vowels", "hello world");      // expected<std::string, Error>
//
// Link the `warmpool::extism` CMake target (and `warmpool::v8` for the V8 engine).
#pragma once

#include "warmpool/extism/error.hpp"
#include "warmpool/extism/kernel.hpp"
#include "warmpool/extism/manifest.hpp"
#include "warmpool/extism/plugin.hpp"
#include "warmpool/extism/pool.hpp"
