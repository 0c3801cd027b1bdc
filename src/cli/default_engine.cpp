#include "default_engine.hpp"

#include "warmpool/wasm/engine.hpp"

namespace warmpool::cli {

std::string default_engine() {
  return wasm::Engine::named("v8") ? "v8" : std::string(wasm::Engine::available().front());
}

}  // namespace warmpool::cli
