#include "default_engine.hpp"

#include "warmpool/wasm/engine.hpp"

namespace warmpool::cli {

std::string default_engine() {
  // Which engines a program has is fixed when it is linked, and a config file asks once per
  // plugin, so the answer is looked up once.
  static const std::string name =
      wasm::Engine::named("v8") ? "v8" : std::string(wasm::Engine::available().front());
  return name;
}

}  // namespace warmpool::cli
