#include "warmpool/wasm/wabt.hpp"

namespace warmpool::wasm::wabt {

Lifecycle<Instance> lifecycle() {
  Lifecycle<Instance> lc;
  lc.is_healthy = [](const Instance& instance) { return instance.healthy(); };
  lc.reset = [](Instance& instance) { return instance.reset(); };
  return lc;
}

}  // namespace warmpool::wasm::wabt
