#include "warmpool/wasm/engine.hpp"

#include "wasm/core/backend.hpp"

// Defined by warmpool::v8 (src/wasm/v8/v8_backend.cpp) when the program links
// it; that library makes the linker keep the definition (--undefined), so the
// core itself never depends on libnode.
extern "C" [[gnu::weak]] const warmpool::wasm::internal::Backend* warmpool_wasm_v8_backend();

namespace warmpool::wasm {
namespace {

const internal::Backend* v8_backend() {
  return warmpool_wasm_v8_backend != nullptr ? warmpool_wasm_v8_backend() : nullptr;
}

}  // namespace

Engine Engine::wabt() {
  return Engine(internal::wabt_backend());
}

std::optional<Engine> Engine::named(std::string_view name) {
  if (name == "wabt") return wabt();
  if (const internal::Backend* v8 = v8_backend(); v8 != nullptr && name == v8->name()) {
    return Engine(*v8);
  }
  return std::nullopt;
}

std::vector<std::string_view> Engine::available() {
  std::vector<std::string_view> names{internal::wabt_backend().name()};
  if (const internal::Backend* v8 = v8_backend()) names.push_back(v8->name());
  return names;
}

std::string_view Engine::name() const {
  return backend_->name();
}

}  // namespace warmpool::wasm
