// The V8 loader from an installed warmpool (find_package COMPONENTS v8).
#include <warmpool/wasm/v8.hpp>

#include "run_add.hpp"

int main() {
  namespace engine = warmpool::wasm::v8;
  return run_add<engine::Module, engine::Instance>("v8", engine::lifecycle());
}
