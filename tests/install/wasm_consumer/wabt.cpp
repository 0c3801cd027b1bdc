// The wabt loader from an installed warmpool (find_package COMPONENTS wabt).
#include <warmpool/wasm/wabt.hpp>

#include "run_add.hpp"

int main() {
  namespace engine = warmpool::wasm::wabt;
  return run_add<engine::Module, engine::Instance>("wabt", engine::lifecycle());
}
