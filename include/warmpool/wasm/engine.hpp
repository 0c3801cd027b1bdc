// warmpool/wasm/engine.hpp — which WebAssembly engine runs the modules, chosen
// at run time.
//
// Two engines can be built in: `wabt` (wabt's interpreter, always there) and
// `v8` (V8's JIT, from Debian's libnode; present when the program links
// warmpool::v8). An Engine is a cheap, copyable handle on process-wide state
// that lives until the process ends. Everything else in the embedding API
// (Module, Linker, Instance) behaves the same whatever the engine.
//
//   auto engine = warmpool::wasm::Engine::named(flag_value);   // "wabt" or "v8"
//   if (!engine) {
//     std::cerr << "no engine '" << flag_value << "'; this build has:";
//     for (auto name : warmpool::wasm::Engine::available()) std::cerr << ' ' << name;
//     return 2;
//   }
//   auto module = warmpool::wasm::Module::load_file(*engine, "plugin.wasm");
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace warmpool::wasm {

class Module;
namespace internal {
class Backend;
}

class Engine {
 public:
  // wabt's interpreter: always built, the default.
  static Engine wabt();
  // nullopt when this program has no engine of that name.
  static std::optional<Engine> named(std::string_view name);
  // The engines this program has, default first: {"wabt"} or {"wabt", "v8"}.
  static std::vector<std::string_view> available();

  std::string_view name() const;

  friend bool operator==(const Engine& a, const Engine& b) noexcept {
    return a.backend_ == b.backend_;
  }

  const internal::Backend& backend() const noexcept { return *backend_; }

 private:
  friend class Module;
  explicit Engine(const internal::Backend& backend) noexcept : backend_(&backend) {}
  const internal::Backend* backend_;
};

}  // namespace warmpool::wasm
