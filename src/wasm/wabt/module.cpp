#include <fstream>
#include <iterator>
#include <utility>

#include "warmpool/wasm/wabt.hpp"
#include "wasm/common/bytes_abi.hpp"
#include "wasm/common/prepare.hpp"
#include "wasm/common/text.hpp"
#include "wasm/wabt/module_impl.hpp"

namespace warmpool::wasm::wabt {
namespace {

using internal::InterpImport;
using internal::InterpKind;
using internal::InterpType;

bool same_types(const std::vector<InterpType>& engine_types, const std::vector<ValueType>& ours) {
  if (engine_types.size() != ours.size()) return false;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (engine_types[i] != static_cast<InterpType>(ours[i])) return false;
  }
  return true;
}

WasmError link_error(std::string_view module_name, const InterpImport& import,
                     std::string_view why = {}) {
  return {ErrorKind::link, internal::cat(module_name, ": unknown import '", import.module, ".",
                                         import.name, "'", why)};
}

std::expected<std::vector<const internal::WasiFunction*>, WasmError> bind_imports(
    const internal::InterpModule& engine, std::string_view module_name, bool metered) {
  std::vector<const internal::WasiFunction*> bindings;
  for (const InterpImport& import : engine.imports()) {
    if (import.kind != InterpKind::func) {
      return std::unexpected(link_error(module_name, import, " (only functions can be imported)"));
    }
    if (import.module == internal::kWasiModule) {
      const internal::WasiFunction* wasi = internal::find_wasi_function(import.name);
      if (wasi == nullptr) return std::unexpected(link_error(module_name, import));
      if (!same_types(import.params, wasi->type.params) ||
          !same_types(import.results, wasi->type.results)) {
        return std::unexpected(
            link_error(module_name, import, " (it exists, but with a different type)"));
      }
      bindings.push_back(wasi);
    } else if (metered && import.module == internal::kMeteringModule &&
               import.name == internal::kOutOfFuelImport) {
      bindings.push_back(nullptr);
    } else {
      return std::unexpected(link_error(module_name, import));
    }
  }
  return bindings;
}

}  // namespace

WasmError Module::Impl::export_not_found(std::string_view export_name) const {
  std::string list;
  for (const ExportedFunction& f : exports) {
    if (!list.empty()) list += ", ";
    list += f.name;
  }
  return {ErrorKind::abi, internal::cat(name, ": export '", export_name, "' not found (exports: ",
                                        list.empty() ? std::string_view("none") : list, ")")};
}

Module::Module(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Module::~Module() = default;

const std::string& Module::name() const {
  return impl_->name;
}
const Limits& Module::limits() const {
  return impl_->limits;
}
const std::vector<ExportedFunction>& Module::exports() const {
  return impl_->exports;
}

const ExportedFunction* Module::find_export(std::string_view export_name) const {
  auto found = impl_->find(export_name);
  return found ? found->function : nullptr;
}

std::expected<std::shared_ptr<const Module>, WasmError> Module::compile(
    std::span<const std::uint8_t> bytes, const Limits& limits, std::string name) {
  auto prepared = internal::prepare_module(bytes, limits, name);
  if (!prepared) return std::unexpected(prepared.error());

  auto impl = std::make_unique<Impl>();
  std::string error;
  impl->engine = internal::InterpModule::decode(prepared->binary, name, &error);
  if (impl->engine == nullptr) return std::unexpected(WasmError(ErrorKind::compile, error));

  auto imports = bind_imports(*impl->engine, name, prepared->metered);
  if (!imports) return std::unexpected(imports.error());
  impl->imports = std::move(*imports);

  std::unordered_map<std::string_view, std::size_t> callable;  // export names are unique
  for (std::size_t i = 0; i < prepared->exports.size(); ++i) {
    callable.emplace(prepared->exports[i].name, i);
  }
  const auto& engine_exports = impl->engine->exports();
  for (std::uint32_t position = 0; position < engine_exports.size(); ++position) {
    const internal::InterpExport& e = engine_exports[position];
    switch (e.kind) {
      case InterpKind::memory:
        impl->has_memory_export = impl->has_memory_export || e.name == internal::kMemoryExport;
        break;
      case InterpKind::global:
        if (e.name == internal::kFuelGlobalExport) impl->fuel_global = position;
        if (e.name == internal::kGrowFailedGlobalExport) impl->grow_global = position;
        break;
      case InterpKind::func:
        if (auto it = callable.find(e.name); it != callable.end()) {
          impl->functions.emplace(e.name, std::pair{it->second, position});
        }
        break;
      default: break;
    }
  }
  impl->exports = std::move(prepared->exports);
  impl->name = std::move(name);
  impl->limits = limits;
  return std::shared_ptr<const Module>(new Module(std::move(impl)));
}

std::expected<std::shared_ptr<const Module>, WasmError> Module::load_file(
    const std::filesystem::path& path, const Limits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::unexpected(WasmError(
        ErrorKind::io, internal::cat(path.string(), ec ? ": " : "", ec ? ec.message() : "",
                                     ec ? "" : ": not a regular file")));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(
        WasmError(ErrorKind::io, internal::cat(path.string(), ": cannot open file")));
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) {
    return std::unexpected(WasmError(ErrorKind::io, internal::cat(path.string(), ": read error")));
  }
  return compile(bytes, limits, path.filename().string());
}

}  // namespace warmpool::wasm::wabt
