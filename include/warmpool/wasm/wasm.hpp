// warmpool/wasm/wasm.hpp — the embedding API in one include: run WebAssembly
// modules on any engine, give them host functions, and pool their instances.
//
//   namespace ww = warmpool::wasm;
//   auto engine = ww::Engine::named("v8").value_or(ww::Engine::wabt());
//   auto module = ww::Module::load_file(engine, "plugin.wasm", {.fuel = 10'000'000});
//   ww::Linker linker;
//   linker.define_wasi().define("env", "now_ms", [] { return std::int64_t{42}; });
//   auto linked = linker.link(*module);
//   auto instance = ww::Instance::instantiate(*linked);
//   auto out = instance->call_bytes("run", input);
//
// The pool adaptor (warmpool/wasm/pool.hpp) is separate: the embedding API
// does not depend on the pool.
#pragma once

#include "warmpool/wasm/caller.hpp"
#include "warmpool/wasm/engine.hpp"
#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/function.hpp"
#include "warmpool/wasm/host_function.hpp"
#include "warmpool/wasm/instance.hpp"
#include "warmpool/wasm/interrupt.hpp"
#include "warmpool/wasm/linker.hpp"
#include "warmpool/wasm/memory.hpp"
#include "warmpool/wasm/module.hpp"
#include "warmpool/wasm/types.hpp"
