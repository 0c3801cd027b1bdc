// Engine tags for the `warmpool` CLI. Every subcommand is written once as a
// template over a tag and instantiated for each engine built into the binary:
//
//   template <class Engine> int run_with(const RunOptions& o) {
//     auto module = Engine::Module::load_file(o.plugin, o.limits);
//     ...
//   }
//   return with_engine(o.engine, [&]<class E>(E) { return run_with<E>(o); });
//
// V8 support is compiled in only when the loader was built
// (WARMPOOL_HAVE_V8).
#pragma once

#include <string_view>
#include <vector>

#include "warmpool/lifecycle.hpp"
#include "warmpool/wasm/wabt.hpp"
#ifdef WARMPOOL_HAVE_V8
#include "warmpool/wasm/v8.hpp"
#endif

namespace warmpool::cli {

struct WabtEngine {
  static constexpr std::string_view name = "wabt";
  using Module = wasm::wabt::Module;
  using Instance = wasm::wabt::Instance;
  static Lifecycle<Instance> lifecycle() { return wasm::wabt::lifecycle(); }
};

#ifdef WARMPOOL_HAVE_V8
struct V8Engine {
  static constexpr std::string_view name = "v8";
  using Module = wasm::v8::Module;
  using Instance = wasm::v8::Instance;
  static Lifecycle<Instance> lifecycle() { return wasm::v8::lifecycle(); }
};
#endif

// Engine names accepted by --engine, default first.
inline std::vector<std::string_view> engine_names() {
#ifdef WARMPOOL_HAVE_V8
  return {WabtEngine::name, V8Engine::name};
#else
  return {WabtEngine::name};
#endif
}

// Calls `f(Tag{})` for the engine named `name` (validated by the caller).
template <class F>
decltype(auto) with_engine(std::string_view name, F&& f) {
#ifdef WARMPOOL_HAVE_V8
  if (name == V8Engine::name) return f(V8Engine{});
#endif
  (void)name;
  return f(WabtEngine{});
}

}  // namespace warmpool::cli
