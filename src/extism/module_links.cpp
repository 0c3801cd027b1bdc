#include "module_links.hpp"

#include "plugin_data.hpp"

namespace warmpool::extism::internal {
namespace {

std::expected<std::size_t, bool> module_named(const std::vector<NamedModule>& modules,
                                              std::string_view name, std::size_t importer) {
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (i != importer && modules[i].name == name) return i;
  }
  return std::unexpected(false);
}

wasm::HostFunction call_into(std::size_t target, const wasm::Function& function,
                             wasm::FunctionType type) {
  return wasm::HostFunction(
      std::move(type), [target, function](wasm::Caller& caller, std::span<const std::uint64_t> args,
                                          std::span<std::uint64_t> results) {
        auto* data = caller.data<PluginData>();
        auto group = data == nullptr ? nullptr : data->group.lock();
        if (!group || !group->instances[target]) {
          return caller.stop("module of '" + function.name() +
                             "' is not instantiated yet (called during initialisation?)");
        }
        auto done = group->instances[target]->call_raw(function, args, results);
        if (!done) caller.stop(done.error().message());
      });
}

}  // namespace

std::expected<void, Error> define_module_imports(wasm::Linker& linker,
                                                 const std::vector<NamedModule>& modules,
                                                 std::size_t index) {
  const NamedModule& importer = modules[index];
  for (const wasm::ImportType& import : importer.module.imports()) {
    auto target = module_named(modules, import.module, index);
    if (!target || import.kind != wasm::ExternKind::function) continue;
    const NamedModule& exporter = modules[*target];
    auto function = exporter.module.function(import.name);
    if (!function || !import.type || function->type() != *import.type) {
      return std::unexpected(Error(
          ErrorKind::link, "module '" + importer.name + "' imports '" + import.module + "." +
                               import.name + "', which module '" + exporter.name +
                               (function ? "' exports with type " + to_string(function->type())
                                         : "' does not export")));
    }
    linker.define(import.module, import.name, call_into(*target, *function, *import.type));
  }
  return {};
}

}  // namespace warmpool::extism::internal
