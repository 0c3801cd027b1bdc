#include "wasm/common/prepare.hpp"

#include <wabt/binary-writer.h>
#include <wabt/cast.h>
#include <wabt/ir.h>
#include <wabt/stream.h>
#include <wabt/validator.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "wasm/common/prepare_parse.hpp"
#include "wasm/common/prepare_rewrite.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/wabt_types.hpp"

namespace warmpool::wasm::internal {
namespace {

// Every table is held to this many elements, whatever the limits: wabt's
// interpreter allocates a table whole, so `(table 4294967295 funcref)` threw
// std::bad_alloc out of instantiation and one `table.grow` of 2e9 elements
// took 14 GB. It is V8's own implementation limit, so both engines refuse the
// same modules; compilers emit tables of one entry per address-taken function.
constexpr std::uint64_t kMaxTableElements = 10'000'000;

ExternKind to_extern_kind(::wabt::ExternalKind kind) {
  switch (kind) {
    case ::wabt::ExternalKind::Func: return ExternKind::function;
    case ::wabt::ExternalKind::Table: return ExternKind::table;
    case ::wabt::ExternalKind::Memory: return ExternKind::memory;
    case ::wabt::ExternalKind::Global: return ExternKind::global;
    case ::wabt::ExternalKind::Tag: return ExternKind::tag;
  }
  return ExternKind::tag;
}

// Before the metering import is added: only what the module itself asks for.
std::vector<ImportType> collect_imports(const ::wabt::Module& module) {
  std::vector<ImportType> out;
  for (const ::wabt::Import* import : module.imports) {
    ImportType entry{import->module_name, import->field_name, to_extern_kind(import->kind()),
                     std::nullopt};
    if (const auto* func = ::wabt::dyn_cast<::wabt::FuncImport>(import)) {
      entry.type = to_function_type(func->func.decl.sig);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// Exports whose signature uses only numbers; v128 and reference types cannot
// be passed through warmpool's Value and are left out.
std::vector<ExportedFunction> collect_exports(const ::wabt::Module& module) {
  std::vector<ExportedFunction> out;
  for (const ::wabt::Export* e : module.exports) {
    if (e->kind != ::wabt::ExternalKind::Func) continue;
    const ::wabt::Func* func = module.GetFunc(e->var);
    if (func == nullptr) continue;
    if (auto type = to_function_type(func->decl.sig)) {
      out.push_back(ExportedFunction{.name = e->name, .type = std::move(*type)});
    }
  }
  return out;
}

// A function may declare at most this many locals. wabt's interpreter
// allocates a call's locals before it checks its stack, so 16 groups of 2^28
// locals threw std::bad_alloc out of the call; it is V8's own limit, so both
// engines refuse the same modules.
constexpr std::uint64_t kMaxFunctionLocals = 50'000;

std::optional<WasmError> check_local_counts(const ::wabt::Module& module, std::string_view name) {
  for (::wabt::Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
    std::uint64_t locals = 0;
    for (const auto& [type, count] : module.funcs[i]->local_types.decls()) locals += count;
    if (locals > kMaxFunctionLocals) {
      return compile_error(name, cat("function ", i, " declares ", locals,
                                     " locals, above the limit of ", kMaxFunctionLocals));
    }
  }
  return std::nullopt;
}

// The module's own requests that the host reserves for itself.
std::optional<WasmError> check_reserved_names(const ::wabt::Module& module, std::string_view name) {
  for (const ::wabt::Import* import : module.imports) {
    if (import->module_name == kMeteringModule) {
      return WasmError(ErrorKind::link,
                       cat(name, ": unknown import '", import->module_name, ".", import->field_name,
                           "' (module '", kMeteringModule, "' is reserved)"));
    }
  }
  for (const ::wabt::Export* e : module.exports) {
    if (e->name.starts_with(kReservedExportPrefix)) {
      return compile_error(name, cat("export '", e->name, "' uses the reserved prefix '",
                                     kReservedExportPrefix, "'"));
    }
  }
  return std::nullopt;
}

std::expected<PreparedModule, WasmError> prepare_parsed(::wabt::Module& module,
                                                        std::span<const std::uint8_t> bytes,
                                                        const Limits& limits,
                                                        const std::string& name,
                                                        const ::wabt::Features& features,
                                                        const PrepareOptions& prepare_options) {
  {
    ::wabt::Errors errors;
    ::wabt::ValidateOptions options(features);
    if (::wabt::Failed(::wabt::ValidateModule(&module, &errors, options))) {
      return std::unexpected(diagnostics_error(
          errors,
          is_wasm_binary(bytes) ? ::wabt::Location::Type::Binary : ::wabt::Location::Type::Text,
          name));
    }
  }
  if (auto reserved = check_reserved_names(module, name)) return std::unexpected(*reserved);
  if (auto locals = check_local_counts(module, name)) return std::unexpected(*locals);

  PreparedModule prepared;
  prepared.exports = collect_exports(module);
  prepared.imports = collect_imports(module);
  if (!module.memories.empty()) {
    prepared.initial_memory_pages = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(module.memories.front()->page_limits.initial, UINT32_MAX));
  }

  bool rewritten = !is_wasm_binary(bytes);
  if (prepare_options.expose_state) {
    prepared.state = expose_state(module);
    const auto& state = prepared.state;
    rewritten = rewritten || !module.memories.empty() || !state.globals.empty();
  }
  for (::wabt::Index i = module.num_table_imports; i < module.tables.size(); ++i) {
    ::wabt::Limits& elements = module.tables[i]->elem_limits;
    if (elements.initial > kMaxTableElements) {
      return std::unexpected(
          compile_error(name, cat("table ", i, " starts at ", elements.initial,
                                  " elements, above the limit of ", kMaxTableElements)));
    }
    if (!elements.has_max || elements.max > kMaxTableElements) {
      elements.max = kMaxTableElements;  // table.grow past it returns -1
      elements.has_max = true;
      rewritten = true;
    }
  }
  if (limits.max_memory_pages != 0) {
    for (::wabt::Index i = module.num_memory_imports; i < module.memories.size(); ++i) {
      ::wabt::Limits& pages = module.memories[i]->page_limits;
      if (pages.initial > limits.max_memory_pages) {
        return std::unexpected(
            WasmError(ErrorKind::memory_limit,
                      cat(name, ": memory starts at ", pages.initial, " pages, above the cap of ",
                          limits.max_memory_pages, " pages")));
      }
      pages.max = pages.has_max ? std::min<std::uint64_t>(pages.max, limits.max_memory_pages)
                                : limits.max_memory_pages;
      pages.has_max = true;
      rewritten = true;
    }
    if (module.memories.size() > module.num_memory_imports) {
      add_grow_tracking(module);
      prepared.grow_tracked = true;
    }
  }
  if (limits.fuel != 0 || limits.timeout.count() > 0) {
    add_fuel_metering(module);
    prepared.metered = true;
    rewritten = true;
  }

  if (!rewritten) {
    prepared.binary.assign(bytes.begin(), bytes.end());
    return prepared;
  }
  ::wabt::MemoryStream stream;
  ::wabt::WriteBinaryOptions options(features, /*canonicalize_lebs=*/true, /*relocatable=*/false,
                                     /*write_debug_names=*/false);
  if (::wabt::Failed(::wabt::WriteBinaryModule(&stream, &module, options))) {
    return std::unexpected(compile_error(name, "could not write the prepared module"));
  }
  prepared.binary = std::move(stream.output_buffer().data);
  return prepared;
}

}  // namespace

std::expected<PreparedModule, WasmError> prepare_module(std::span<const std::uint8_t> wasm_or_wat,
                                                        const Limits& limits,
                                                        std::string_view name_view,
                                                        const PrepareOptions& options) {
  const std::string name(name_view);
  if (wasm_or_wat.empty()) {
    return std::unexpected(
        compile_error(name, "empty module (expected a .wasm binary or .wat text)"));
  }
  // wabt's defaults: the finished proposals clang emits. Annotations stay off:
  // with them on, wabt 1.0.32's parser loops forever on `(module (@a`.
  const ::wabt::Features features;
  auto parsed = parse_module(wasm_or_wat, name, features);
  if (!parsed) return std::unexpected(parsed.error());
  return prepare_parsed(*parsed->module, wasm_or_wat, limits, name, features, options);
}

}  // namespace warmpool::wasm::internal
