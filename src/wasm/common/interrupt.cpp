#include "warmpool/wasm/interrupt.hpp"

#include "wasm/common/watchdog.hpp"

namespace warmpool::wasm {

std::size_t interrupt_running_calls() {
  return internal::Watchdog::global().expire_all();
}

}  // namespace warmpool::wasm
