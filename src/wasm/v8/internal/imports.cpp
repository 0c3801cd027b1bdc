#include "internal/imports.hpp"

#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/cast.h>
#include <wabt/ir.h>

#include "wasm/common/prepare.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/wabt_types.hpp"
#include "wasm/common/wasi.hpp"

namespace warmpool::wasm::v8::internal {
namespace {

using wasm::internal::cat;
using wasm::internal::to_function_type;

bool same(const FunctionType& a, const FunctionType& b) {
  return a.params == b.params && a.results == b.results;
}

const char* type_name(ValueType t) {
  switch (t) {
    case ValueType::i32: return "i32";
    case ValueType::i64: return "i64";
    case ValueType::f32: return "f32";
    case ValueType::f64: return "f64";
  }
  return "?";
}

std::string join_types(const std::vector<ValueType>& types) {
  std::string out;
  for (auto t : types) {
    if (!out.empty()) out += ", ";
    out += type_name(t);
  }
  return out;
}

}  // namespace

std::string describe(const FunctionType& type) {
  if (type.results.size() == 1) {
    return cat("(", join_types(type.params), ") -> ", type_name(type.results.front()));
  }
  return cat("(", join_types(type.params), ") -> (", join_types(type.results), ")");
}

std::expected<std::vector<ModuleImport>, WasmError> read_imports(
    std::span<const std::uint8_t> binary, std::string_view module_name) {
  ::wabt::Features features;
  features.EnableAll();
  const ::wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                          /*stop_on_first_error=*/true,
                                          /*fail_on_custom_section_error=*/false);
  ::wabt::Errors errors;
  ::wabt::Module module;
  const std::string filename(module_name);
  if (::wabt::Failed(::wabt::ReadBinaryIr(filename.c_str(), binary.data(), binary.size(), options,
                                          &errors, &module))) {
    return std::unexpected(
        WasmError(ErrorKind::compile, cat(module_name, ": cannot read the import section")));
  }
  std::vector<ModuleImport> imports;
  for (const ::wabt::Import* import : module.imports) {
    ModuleImport entry{import->module_name, import->field_name, false, std::nullopt};
    if (const auto* func = ::wabt::dyn_cast<::wabt::FuncImport>(import)) {
      entry.is_function = true;
      entry.type = to_function_type(func->func.decl.sig);
    }
    imports.push_back(std::move(entry));
  }
  return imports;
}

std::optional<WasmError> check_imports(const std::vector<ModuleImport>& imports,
                                       std::string_view module_name) {
  using wasm::internal::find_wasi_function;
  using wasm::internal::kMeteringModule;
  using wasm::internal::kOutOfFuelImport;
  using wasm::internal::kWasiModule;
  static const FunctionType out_of_fuel_type{{}, {ValueType::i64}};

  for (const auto& import : imports) {
    const FunctionType* expected = nullptr;
    if (import.is_function && import.module == kWasiModule) {
      if (const auto* wasi = find_wasi_function(import.field)) expected = &wasi->type;
    } else if (import.is_function && import.module == kMeteringModule &&
               import.field == kOutOfFuelImport) {
      expected = &out_of_fuel_type;
    }
    if (expected == nullptr) {
      return WasmError(ErrorKind::link, cat(module_name, ": unknown import '", import.module, ".",
                                            import.field, "'"));
    }
    if (!import.type || !same(*import.type, *expected)) {
      return WasmError(ErrorKind::link,
                       cat(module_name, ": import '", import.module, ".", import.field,
                           "' has type ", import.type ? describe(*import.type) : "(unsupported)",
                           ", expected ", describe(*expected)));
    }
  }
  return std::nullopt;
}

}  // namespace warmpool::wasm::v8::internal
