// Plugin-to-plugin linking: a manifest's modules import each other's
// functions by module name. Each such import is a host function that calls
// the export of the other module's instance, found through the plugin's
// ModuleGroup at call time (so modules may import each other circularly).
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "warmpool/extism/error.hpp"
#include "warmpool/wasm/linker.hpp"
#include "warmpool/wasm/module.hpp"

namespace warmpool::extism::internal {

struct NamedModule {
  std::string name;
  wasm::Module module;
};

// Defines in `linker` every import of `modules[index]` whose module is the
// name of another of `modules`. Errors (ErrorKind::link): the other module
// does not export it, or with another type.
std::expected<void, Error> define_module_imports(wasm::Linker& linker,
                                                 const std::vector<NamedModule>& modules,
                                                 std::size_t index);

}  // namespace warmpool::extism::internal
