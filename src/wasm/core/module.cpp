#include "warmpool/wasm/module.hpp"

#include <fstream>
#include <iterator>
#include <utility>

#include "wasm/common/prepare.hpp"
#include "wasm/common/text.hpp"
#include "wasm/core/module_impl.hpp"

namespace warmpool::wasm {
namespace {

using internal::cat;

internal::BackendModuleSpec backend_spec(const Module::Impl& module) {
  internal::BackendModuleSpec spec;
  spec.name = module.name;
  spec.functions = module.exports;
  for (const ImportType& import : module.imports) {
    // Only functions reach an engine: linking refuses anything else first.
    spec.imports.push_back(import.type.value_or(FunctionType{}));
    spec.import_modules.push_back(import.module);
    spec.import_names.push_back(import.name);
  }
  if (module.metered) {
    spec.imports.push_back({{}, {ValueType::i64}});
    spec.import_modules.emplace_back(internal::kMeteringModule);
    spec.import_names.emplace_back(internal::kOutOfFuelImport);
  }
  return spec;
}

}  // namespace

WasmError Module::Impl::export_not_found(std::string_view export_name) const {
  std::string list;
  for (const ExportedFunction& f : exports) {
    if (!list.empty()) list += ", ";
    list += f.name;
  }
  return {ErrorKind::abi, cat(name, ": export '", export_name, "' not found (exports: ",
                              list.empty() ? std::string_view("none") : list, ")")};
}

std::expected<Module, WasmError> Module::compile(Engine engine, std::span<const std::uint8_t> bytes,
                                                 const Limits& limits, std::string name) {
  const internal::Backend& backend = engine.backend();
  // An engine that interrupts the guest at its deadline needs metering only to count fuel;
  // a timeout alone then costs the guest nothing.
  Limits compiled_in = limits;
  if (backend.interrupts_at_deadline()) compiled_in.timeout = std::chrono::milliseconds{0};
  auto prepared = internal::prepare_module(bytes, compiled_in, name, backend.prepare_options());
  if (!prepared) return std::unexpected(std::move(prepared.error()));

  auto impl = std::make_shared<Impl>();
  impl->backend = &backend;
  impl->name = std::move(name);
  impl->limits = limits;
  impl->exports = std::move(prepared->exports);
  impl->imports = std::move(prepared->imports);
  impl->metered = prepared->metered;
  impl->grow_tracked = prepared->grow_tracked;
  for (std::uint32_t i = 0; i < impl->exports.size(); ++i) {
    impl->positions.emplace(impl->exports[i].name, i);
  }
  internal::BackendModuleSpec spec = backend_spec(*impl);
  spec.state = std::move(prepared->state);
  std::string error;
  impl->engine = backend.compile(*prepared, spec, &error);
  if (impl->engine == nullptr) return std::unexpected(WasmError(ErrorKind::compile, error));
  return Module(std::move(impl));
}

std::expected<Module, WasmError> Module::load_file(Engine engine, const std::filesystem::path& path,
                                                   const Limits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::unexpected(WasmError(
        ErrorKind::io, cat(path.string(), ": ", ec ? ec.message() : "not a regular file")));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(WasmError(ErrorKind::io, cat(path.string(), ": cannot open")));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad())
    return std::unexpected(WasmError(ErrorKind::io, cat(path.string(), ": read error")));
  return compile(engine, bytes, limits, path.filename().string());
}

Engine Module::engine() const {
  return Engine(*impl_->backend);
}
const std::string& Module::name() const {
  return impl_->name;
}
const Limits& Module::limits() const {
  return impl_->limits;
}
const std::vector<ExportedFunction>& Module::exports() const {
  return impl_->exports;
}
const std::vector<ImportType>& Module::imports() const {
  return impl_->imports;
}

const ExportedFunction* Module::find_export(std::string_view export_name) const {
  auto position = impl_->find(export_name);
  return position ? &impl_->exports[*position] : nullptr;
}

std::expected<Function, WasmError> Module::function(std::string_view export_name) const {
  auto position = impl_->find(export_name);
  if (!position) return std::unexpected(impl_->export_not_found(export_name));
  return Function(impl_.get(), *position, impl_->exports[*position]);
}

std::optional<WasmError> Module::check_type(const Function& f, const FunctionType& wanted) const {
  if (f.type() == wanted) return std::nullopt;
  return WasmError(ErrorKind::abi, cat(impl_->name, ": export '", f.name(), "' has type ",
                                       to_string(f.type()), ", not ", to_string(wanted)));
}

}  // namespace warmpool::wasm
