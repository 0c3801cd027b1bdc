// wasm/core/linked_module.hpp — internal: a module with every import bound to a host function
// or to an export of a linked instance (Linker::define_instance).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warmpool/wasm/linker.hpp"

namespace warmpool::wasm {

struct LinkedModule::Impl {
  struct Import {
    // Null for the metering hook `warmpool.out_of_fuel`, which the core answers itself, and
    // for imports bound to a linked instance, which the engine calls directly.
    std::shared_ptr<const HostFunction> function;
    std::string qualified_name;  // "env.log"
    // Bound to export `name` of linked_instances[*linked_instance].
    std::optional<std::uint32_t> linked_instance;
    std::string name;
  };
  // One instance of `linked` is made beside every instance of `module`.
  struct LinkedInstance {
    std::string import_module;
    LinkedModule linked;
  };

  Module module;
  // Per import of the prepared binary, in order (the metering hook last).
  std::vector<Import> imports;
  std::vector<LinkedInstance> linked_instances;
  Linker::HostDataFactory host_data;
};

}  // namespace warmpool::wasm
