// wasm/core/linked_module.hpp — internal: a module with every import bound to a host function.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "warmpool/wasm/linker.hpp"

namespace warmpool::wasm {

struct LinkedModule::Impl {
  struct Import {
    // Null for the metering hook `warmpool.out_of_fuel`, which the core answers itself.
    std::shared_ptr<const HostFunction> function;
    std::string qualified_name;  // "env.log"
  };

  Module module;
  // Per import of the prepared binary, in order (the metering hook last).
  std::vector<Import> imports;
  Linker::HostDataFactory host_data;
};

}  // namespace warmpool::wasm
