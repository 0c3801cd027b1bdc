#include "warmpool/wasm/linker.hpp"

#include <utility>

#include "wasm/common/prepare.hpp"
#include "wasm/common/text.hpp"
#include "wasm/core/linked_module.hpp"
#include "wasm/core/module_impl.hpp"

namespace warmpool::wasm {
namespace {

using internal::cat;

std::string key(std::string_view module, std::string_view name) {
  std::string k(module);
  k += '\0';
  k += name;
  return k;
}

std::string_view kind_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::function: return "function";
    case ExternKind::table: return "table";
    case ExternKind::memory: return "memory";
    case ExternKind::global: return "global";
    case ExternKind::tag: return "tag";
  }
  return "?";
}

}  // namespace

const Module& LinkedModule::module() const noexcept {
  return impl_->module;
}

Linker& Linker::define(std::string module, std::string name, HostFunction function) {
  std::string qualified = cat(module, ".", name);
  definitions_.insert_or_assign(
      key(module, name),
      Definition{std::make_shared<const HostFunction>(std::move(function)), std::move(qualified)});
  return *this;
}

Linker& Linker::define_instance(std::string module, LinkedModule exporter) {
  instances_.insert_or_assign(std::move(module), std::move(exporter));
  return *this;
}

std::expected<LinkedModule, WasmError> Linker::link(const Module& module) const {
  const std::string& name = module.name();
  auto impl = std::make_shared<LinkedModule::Impl>(LinkedModule::Impl{module, {}, {}, host_data_});
  for (const auto& [import_module, exporter] : instances_) {
    if (!exporter.impl().linked_instances.empty()) {
      return std::unexpected(
          WasmError(ErrorKind::link, cat(name, ": '", exporter.module().name(), "' (linked as '",
                                         import_module, "') has linked instances of its own")));
    }
    if (exporter.module().engine() != module.engine()) {
      return std::unexpected(
          WasmError(ErrorKind::link, cat(name, ": '", exporter.module().name(), "' (linked as '",
                                         import_module, "') was compiled for another engine")));
    }
  }
  // Only the linked instances some import calls are made.
  std::map<std::string_view, std::uint32_t> used;
  for (const ImportType& import : module.imports()) {
    const std::string qualified = cat(import.module, ".", import.name);
    if (auto linked = instances_.find(import.module);
        linked != instances_.end() && import.kind == ExternKind::function) {
      const LinkedModule& exporter = linked->second;
      if (const ExportedFunction* e = exporter.module().find_export(import.name)) {
        if (!import.type || *import.type != e->type) {
          return std::unexpected(WasmError(
              ErrorKind::link,
              cat(name, ": import '", qualified, "' has type ",
                  import.type ? to_string(*import.type) : std::string("(not representable)"), ", '",
                  exporter.module().name(), "' (linked as '", import.module,
                  "') exports it with type ", to_string(e->type))));
        }
        auto [slot, added] = used.try_emplace(linked->first, impl->linked_instances.size());
        if (added) impl->linked_instances.push_back({linked->first, exporter});
        impl->imports.push_back({nullptr, qualified, slot->second, import.name});
        continue;
      }
    }
    if (import.kind != ExternKind::function) {
      return std::unexpected(WasmError(
          ErrorKind::link, cat(name, ": unknown import '", qualified, "' (a ",
                               kind_name(import.kind), "; the host provides only functions)")));
    }
    auto found = definitions_.find(key(import.module, import.name));
    if (found == definitions_.end()) {
      auto linked = instances_.find(import.module);
      return std::unexpected(WasmError(
          ErrorKind::link,
          linked == instances_.end()
              ? cat(name, ": unknown import '", qualified, "'")
              : cat(name, ": unknown import '", qualified, "' ('", linked->second.module().name(),
                    "', linked as '", import.module, "', does not export it, nor does the host)")));
    }
    const FunctionType& defined = found->second.function->type();
    if (!import.type || *import.type != defined) {
      return std::unexpected(
          WasmError(ErrorKind::link,
                    cat(name, ": import '", qualified, "' has type ",
                        import.type ? to_string(*import.type) : std::string("(not representable)"),
                        ", the host defines ", to_string(defined))));
    }
    impl->imports.push_back({found->second.function, found->second.qualified_name, {}, {}});
  }
  if (module.impl().metered) {
    impl->imports.push_back(
        {nullptr, cat(internal::kMeteringModule, ".", internal::kOutOfFuelImport), {}, {}});
  }
  return LinkedModule(std::move(impl));
}

}  // namespace warmpool::wasm
