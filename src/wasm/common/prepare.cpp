#include "wasm/common/prepare.hpp"

#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/binary-writer.h>
#include <wabt/cast.h>
#include <wabt/ir.h>
#include <wabt/resolve-names.h>
#include <wabt/stream.h>
#include <wabt/validator.h>
#include <wabt/wast-lexer.h>
#include <wabt/wast-parser.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "wasm/common/binary_precheck.hpp"
#include "wasm/common/probe_process.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/text_precheck.hpp"
#include "wasm/common/wabt_types.hpp"

namespace warmpool::wasm::internal {
namespace {

// Deeper nesting than this is rejected: wabt's text parser recurses once per
// level, its IR is destroyed and written out recursively, and a hostile module
// must not be able to overflow the stack. Compilers emit a few dozen levels at
// most.
constexpr std::size_t kMaxNesting = 2048;

// Every table is held to this many elements, whatever the limits: wabt's
// interpreter allocates a table whole, so `(table 4294967295 funcref)` threw
// std::bad_alloc out of instantiation and one `table.grow` of 2e9 elements
// took 14 GB. It is V8's own implementation limit, so both engines refuse the
// same modules; compilers emit tables of one entry per address-taken function.
constexpr std::uint64_t kMaxTableElements = 10'000'000;

WasmError compile_error(std::string_view name, std::string_view what) {
  return {ErrorKind::compile, cat(name, ": ", what)};
}

// wabt's diagnostics in wabt's own layout, but always led by the module's
// name: "fib.wat:3:5: error: ..." for text, "fib.wasm: 000000d: error: ..."
// for binaries (wabt prints no file name for those). Formatted here, from the
// line/column/offset only, so no message ever depends on the file name a
// Location points to.
WasmError diagnostics_error(const ::wabt::Errors& errors, ::wabt::Location::Type type,
                            std::string_view name) {
  constexpr std::size_t kShown = 3;
  std::string text;
  std::size_t shown = 0;
  for (const ::wabt::Error& e : errors) {
    if (e.error_level != ::wabt::ErrorLevel::Error) continue;
    if (shown == kShown) {
      text += " (and more)";
      break;
    }
    if (shown != 0) text += "; ";
    if (type == ::wabt::Location::Type::Binary) {
      char offset[24];
      std::snprintf(offset, sizeof offset, "%07zx", e.loc.offset);
      text += cat(name, ": ", offset, ": error: ", e.message);
    } else {
      text += cat(name, ":", e.loc.line, ":", e.loc.first_column, ": error: ", e.message);
    }
    ++shown;
  }
  if (shown == 0) text = cat(name, ": invalid module");
  return {ErrorKind::compile, std::move(text)};
}

// Exports whose signature uses only numbers; v128 and reference types cannot
// be passed through warmpool's Value and are left out.
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

// Calls `fn(list, depth)` on every expression list nested in `root`
// (including `root`), without recursion.
template <class Fn>
void for_each_nested_list(::wabt::ExprList& root, Fn&& fn) {
  std::vector<std::pair<::wabt::ExprList*, std::size_t>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto [list, depth] = stack.back();
    stack.pop_back();
    fn(*list, depth);
    for (::wabt::Expr& expr : *list) {
      switch (expr.type()) {
        case ::wabt::ExprType::Block:
          stack.emplace_back(&::wabt::cast<::wabt::BlockExpr>(&expr)->block.exprs, depth + 1);
          break;
        case ::wabt::ExprType::Loop:
          stack.emplace_back(&::wabt::cast<::wabt::LoopExpr>(&expr)->block.exprs, depth + 1);
          break;
        case ::wabt::ExprType::If: {
          auto* if_expr = ::wabt::cast<::wabt::IfExpr>(&expr);
          stack.emplace_back(&if_expr->true_.exprs, depth + 1);
          stack.emplace_back(&if_expr->false_, depth + 1);
          break;
        }
        case ::wabt::ExprType::Try: {
          auto* try_expr = ::wabt::cast<::wabt::TryExpr>(&expr);
          stack.emplace_back(&try_expr->block.exprs, depth + 1);
          for (::wabt::Catch& c : try_expr->catches) stack.emplace_back(&c.exprs, depth + 1);
          break;
        }
        default: break;
      }
    }
  }
}

std::size_t max_nesting(::wabt::Module& module) {
  std::size_t deepest = 0;
  for (::wabt::Func* func : module.funcs) {
    for_each_nested_list(func->exprs, [&](::wabt::ExprList&, std::size_t depth) {
      deepest = std::max(deepest, depth);
    });
  }
  return deepest;
}

// Tears nested expression lists down iteratively, so destroying an absurdly
// deep module cannot overflow the stack.
void dismantle_bodies(::wabt::Module& module) {
  std::vector<::wabt::ExprList> pending;
  for (::wabt::Func* func : module.funcs) pending.push_back(std::move(func->exprs));
  while (!pending.empty()) {
    ::wabt::ExprList list = std::move(pending.back());
    pending.pop_back();
    for (::wabt::Expr& expr : list) {
      switch (expr.type()) {
        case ::wabt::ExprType::Block:
          pending.push_back(std::move(::wabt::cast<::wabt::BlockExpr>(&expr)->block.exprs));
          break;
        case ::wabt::ExprType::Loop:
          pending.push_back(std::move(::wabt::cast<::wabt::LoopExpr>(&expr)->block.exprs));
          break;
        case ::wabt::ExprType::If: {
          auto* if_expr = ::wabt::cast<::wabt::IfExpr>(&expr);
          pending.push_back(std::move(if_expr->true_.exprs));
          pending.push_back(std::move(if_expr->false_));
          break;
        }
        case ::wabt::ExprType::Try: {
          auto* try_expr = ::wabt::cast<::wabt::TryExpr>(&expr);
          pending.push_back(std::move(try_expr->block.exprs));
          for (::wabt::Catch& c : try_expr->catches) pending.push_back(std::move(c.exprs));
          break;
        }
        default: break;
      }
    }
  }
}

::wabt::Var index_var(::wabt::Index index) {
  return ::wabt::Var(index, ::wabt::Location());
}

template <class T, class... Args>
std::unique_ptr<::wabt::Expr> make(Args&&... args) {
  return std::make_unique<T>(std::forward<Args>(args)...);
}

void add_export(::wabt::Module& module, ::wabt::ExternalKind kind, ::wabt::Index index,
                std::string name) {
  auto exported = std::make_unique<::wabt::ExportModuleField>();
  exported->export_.name = std::move(name);
  exported->export_.kind = kind;
  exported->export_.var = index_var(index);
  module.AppendField(std::move(exported));
}

::wabt::Index add_global(::wabt::Module& module, ::wabt::Type type, std::string_view export_name) {
  const auto index = static_cast<::wabt::Index>(module.globals.size());
  auto global = std::make_unique<::wabt::GlobalModuleField>();
  global->global.type = type;
  global->global.mutable_ = true;
  global->global.init_expr.push_back(make<::wabt::ConstExpr>(
      type == ::wabt::Type::I64 ? ::wabt::Const::I64(0) : ::wabt::Const::I32(0)));
  module.AppendField(std::move(global));
  add_export(module, ::wabt::ExternalKind::Global, index, std::string(export_name));
  return index;
}

// Runs before this pass adds its own globals, so only the module's own state
// is exposed (the metering globals are set by the host at every call anyway).
// A module whose state cannot all be restored through exports gets none: its
// host re-instantiates instead.
ExposedState expose_state(::wabt::Module& module) {
  ExposedState state;
  for (::wabt::Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
    for_each_nested_list(module.funcs[i]->exprs, [&](::wabt::ExprList& list, std::size_t) {
      for (const ::wabt::Expr& expr : list) {
        switch (expr.type()) {
          case ::wabt::ExprType::TableSet:
          case ::wabt::ExprType::TableGrow:
          case ::wabt::ExprType::TableFill:
          case ::wabt::ExprType::TableCopy:
          case ::wabt::ExprType::TableInit: state.tables_written = true; break;
          case ::wabt::ExprType::DataDrop:
          case ::wabt::ExprType::ElemDrop: state.drops_segments = true; break;
          default: break;
        }
      }
    });
  }
  std::vector<::wabt::Index> mutable_globals;
  for (::wabt::Index i = module.num_global_imports; i < module.globals.size(); ++i) {
    const ::wabt::Global* global = module.globals[i];
    if (!global->mutable_) continue;
    state.restorable =
        state.restorable && (to_value_type(global->type).has_value() || global->type.IsRef());
    mutable_globals.push_back(i);
  }
  state.restorable = state.restorable && module.memories.size() <= 1;
  // Host functions reach memory 0 through this export whatever the module's
  // other state: a host that sees only exports has no other way to it.
  if (!module.memories.empty()) {
    add_export(module, ::wabt::ExternalKind::Memory, 0, std::string(kStateMemoryExport));
  }
  if (!state.restorable_in_place()) return state;

  for (::wabt::Index i : mutable_globals) {
    state.globals.push_back(cat(kStateGlobalExportPrefix, i));
    add_export(module, ::wabt::ExternalKind::Global, i, state.globals.back());
  }
  if (!module.memories.empty()) state.memory = std::string(kStateMemoryExport);
  return state;
}

// Adds `warmpool.out_of_fuel: [] -> [i64]` as the last function import and
// renumbers every reference to a defined function (they all move up by one).
::wabt::Index add_out_of_fuel_import(::wabt::Module& module) {
  auto type_field = std::make_unique<::wabt::TypeModuleField>();
  auto func_type = std::make_unique<::wabt::FuncType>();
  func_type->sig.result_types = {::wabt::Type::I64};
  const ::wabt::FuncSignature sig = func_type->sig;
  type_field->type = std::move(func_type);
  const auto type_index = static_cast<::wabt::Index>(module.types.size());
  module.AppendField(std::move(type_field));

  auto import = std::make_unique<::wabt::FuncImport>();
  import->module_name = std::string(kMeteringModule);
  import->field_name = std::string(kOutOfFuelImport);
  import->func.decl.has_func_type = true;
  import->func.decl.type_var = index_var(type_index);
  import->func.decl.sig = sig;
  ::wabt::Func* func = &import->func;
  ::wabt::Import* raw_import = import.get();
  auto field = std::make_unique<::wabt::ImportModuleField>(std::move(import));

  const ::wabt::Index first_defined = module.num_func_imports;
  auto shift = [first_defined](::wabt::Var& var) {
    if (var.is_index() && var.index() >= first_defined && var.index() != ::wabt::kInvalidIndex) {
      var.set_index(var.index() + 1);
    }
  };
  auto shift_list = [&](::wabt::ExprList& root) {
    for_each_nested_list(root, [&](::wabt::ExprList& list, std::size_t) {
      for (::wabt::Expr& expr : list) {
        switch (expr.type()) {
          case ::wabt::ExprType::Call: shift(::wabt::cast<::wabt::CallExpr>(&expr)->var); break;
          case ::wabt::ExprType::ReturnCall:
            shift(::wabt::cast<::wabt::ReturnCallExpr>(&expr)->var);
            break;
          case ::wabt::ExprType::RefFunc:
            shift(::wabt::cast<::wabt::RefFuncExpr>(&expr)->var);
            break;
          default: break;
        }
      }
    });
  };
  for (::wabt::Func* f : module.funcs) shift_list(f->exprs);
  for (::wabt::Global* g : module.globals) shift_list(g->init_expr);
  for (::wabt::ElemSegment* seg : module.elem_segments) {
    shift_list(seg->offset);
    for (::wabt::ExprList& elem : seg->elem_exprs) shift_list(elem);
  }
  for (::wabt::DataSegment* seg : module.data_segments) shift_list(seg->offset);
  for (::wabt::Export* e : module.exports) {
    if (e->kind == ::wabt::ExternalKind::Func) shift(e->var);
  }
  for (::wabt::Var* start : module.starts) shift(*start);

  module.imports.push_back(raw_import);
  module.funcs.insert(module.funcs.begin() + first_defined, func);
  ++module.num_func_imports;
  module.fields.push_back(std::move(field));
  return first_defined;
}

// Expressions in `list` that run before the next check: nested blocks and ifs
// count, loop bodies are charged at their own header.
std::int64_t region_cost(::wabt::ExprList& region) {
  std::int64_t cost = 0;
  std::vector<::wabt::ExprList*> stack{&region};
  while (!stack.empty()) {
    ::wabt::ExprList* list = stack.back();
    stack.pop_back();
    for (::wabt::Expr& expr : *list) {
      ++cost;
      switch (expr.type()) {
        case ::wabt::ExprType::Block:
          stack.push_back(&::wabt::cast<::wabt::BlockExpr>(&expr)->block.exprs);
          break;
        case ::wabt::ExprType::If: {
          auto* if_expr = ::wabt::cast<::wabt::IfExpr>(&expr);
          stack.push_back(&if_expr->true_.exprs);
          stack.push_back(&if_expr->false_);
          break;
        }
        case ::wabt::ExprType::Try: {
          auto* try_expr = ::wabt::cast<::wabt::TryExpr>(&expr);
          stack.push_back(&try_expr->block.exprs);
          for (::wabt::Catch& c : try_expr->catches) stack.push_back(&c.exprs);
          break;
        }
        default: break;
      }
    }
  }
  return std::max<std::int64_t>(cost, 1);
}

// fuel -= cost; if (fuel < 0) fuel += warmpool.out_of_fuel();
::wabt::ExprList fuel_check(::wabt::Index fuel_global, ::wabt::Index out_of_fuel,
                            std::int64_t cost) {
  ::wabt::ExprList check;
  check.push_back(make<::wabt::GlobalGetExpr>(index_var(fuel_global)));
  check.push_back(make<::wabt::ConstExpr>(::wabt::Const::I64(static_cast<std::uint64_t>(cost))));
  check.push_back(make<::wabt::BinaryExpr>(::wabt::Opcode::I64Sub));
  check.push_back(make<::wabt::GlobalSetExpr>(index_var(fuel_global)));
  check.push_back(make<::wabt::GlobalGetExpr>(index_var(fuel_global)));
  check.push_back(make<::wabt::ConstExpr>(::wabt::Const::I64(0)));
  check.push_back(make<::wabt::CompareExpr>(::wabt::Opcode::I64LtS));
  auto refill = std::make_unique<::wabt::IfExpr>();
  refill->true_.exprs.push_back(make<::wabt::CallExpr>(index_var(out_of_fuel)));
  refill->true_.exprs.push_back(make<::wabt::GlobalGetExpr>(index_var(fuel_global)));
  refill->true_.exprs.push_back(make<::wabt::BinaryExpr>(::wabt::Opcode::I64Add));
  refill->true_.exprs.push_back(make<::wabt::GlobalSetExpr>(index_var(fuel_global)));
  check.push_back(std::move(refill));
  return check;
}

void inject_metering(::wabt::Module& module, ::wabt::Index fuel_global, ::wabt::Index out_of_fuel) {
  for (::wabt::Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
    ::wabt::Func* func = module.funcs[i];
    std::vector<::wabt::ExprList*> regions{&func->exprs};
    for_each_nested_list(func->exprs, [&](::wabt::ExprList& list, std::size_t) {
      for (::wabt::Expr& expr : list) {
        if (expr.type() == ::wabt::ExprType::Loop) {
          regions.push_back(&::wabt::cast<::wabt::LoopExpr>(&expr)->block.exprs);
        }
      }
    });
    // Costs first: a region's cost must not include the checks added to it.
    std::vector<std::int64_t> costs;
    costs.reserve(regions.size());
    for (::wabt::ExprList* region : regions) costs.push_back(region_cost(*region));
    for (std::size_t r = 0; r < regions.size(); ++r) {
      ::wabt::ExprList check = fuel_check(fuel_global, out_of_fuel, costs[r]);
      regions[r]->splice(regions[r]->begin(), check);
    }
  }
}

// After every memory.grow: if it returned -1, set the grow-failed flag.
void track_failed_grows(::wabt::Module& module, ::wabt::Index flag_global) {
  for (::wabt::Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
    ::wabt::Func* func = module.funcs[i];
    std::vector<std::pair<::wabt::ExprList*, ::wabt::ExprList::iterator>> sites;
    for_each_nested_list(func->exprs, [&](::wabt::ExprList& list, std::size_t) {
      for (auto it = list.begin(); it != list.end(); ++it) {
        if (it->type() == ::wabt::ExprType::MemoryGrow) sites.emplace_back(&list, it);
      }
    });
    if (sites.empty()) continue;
    func->local_types.AppendDecl(::wabt::Type::I32, 1);
    const ::wabt::Index scratch = func->GetNumParamsAndLocals() - 1;
    for (auto& [list, it] : sites) {
      ::wabt::ExprList after;
      after.push_back(make<::wabt::LocalTeeExpr>(index_var(scratch)));
      after.push_back(make<::wabt::ConstExpr>(::wabt::Const::I32(0xffffffffu)));
      after.push_back(make<::wabt::CompareExpr>(::wabt::Opcode::I32Eq));
      auto flag = std::make_unique<::wabt::IfExpr>();
      flag->true_.exprs.push_back(make<::wabt::ConstExpr>(::wabt::Const::I32(1)));
      flag->true_.exprs.push_back(make<::wabt::GlobalSetExpr>(index_var(flag_global)));
      after.push_back(std::move(flag));
      after.push_back(make<::wabt::LocalGetExpr>(index_var(scratch)));
      list->splice(std::next(it), after);
    }
  }
}

// A parsed module with what its Locations point into: for text, every
// Location's file name is a view of a string the lexer owns, so the lexer must
// outlive the module (members are destroyed in reverse order: module first).
struct Parsed {
  std::unique_ptr<::wabt::WastLexer> lexer;  // null for binaries
  std::unique_ptr<::wabt::Module> module;
};

std::expected<Parsed, WasmError> parse_text(std::span<const std::uint8_t> bytes,
                                            const std::string& name,
                                            const ::wabt::Features& features) {
  ::wabt::Errors errors;
  Parsed parsed;
  parsed.lexer = ::wabt::WastLexer::CreateBufferLexer(name, bytes.data(), bytes.size(), &errors);
  ::wabt::WastParseOptions options(features);
  if (::wabt::Failed(
          ::wabt::ParseWatModule(parsed.lexer.get(), &parsed.module, &errors, &options)) ||
      parsed.module == nullptr ||
      ::wabt::Failed(::wabt::ResolveNamesModule(parsed.module.get(), &errors))) {
    if (errors.empty())
      return std::unexpected(compile_error(name, "not a .wasm binary or .wat module"));
    return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Text, name));
  }
  return parsed;
}

std::expected<Parsed, WasmError> parse(std::span<const std::uint8_t> bytes, const std::string& name,
                                       const ::wabt::Features& features) {
  ::wabt::Errors errors;
  if (is_wasm_binary(bytes)) {
    // Never let ReadBinaryIr see a binary the validating reader rejects: on
    // some of them it aborts the process (see binary_precheck.hpp).
    if (!precheck_binary(bytes.data(), bytes.size(), features, &errors)) {
      return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Binary, name));
    }
    Parsed parsed;
    parsed.module = std::make_unique<::wabt::Module>();
    ::wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                      /*stop_on_first_error=*/true,
                                      /*fail_on_custom_section_error=*/false);
    if (::wabt::Failed(::wabt::ReadBinaryIr(name.c_str(), bytes.data(), bytes.size(), options,
                                            &errors, parsed.module.get()))) {
      return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Binary, name));
    }
    return parsed;
  }
  if (!starts_like_text(bytes)) {
    std::string head;
    for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 4); ++i) {
      static constexpr char kHex[] = "0123456789abcdef";
      if (i != 0) head += ' ';
      head += kHex[bytes[i] >> 4];
      head += kHex[bytes[i] & 0xf];
    }
    return std::unexpected(
        compile_error(name, cat("neither a WebAssembly binary (no \\0asm magic; it starts with ",
                                head, ") nor WebAssembly text (which starts with '(')")));
  }
  // Never let the parser see text it would abort on: the shapes a scan can
  // see are reported with their line and column (see text_precheck.hpp); the
  // rest only a parse can find, so one runs in a helper process first
  // (probe_process.hpp).
  const TextPrecheck scan = precheck_text(bytes, kMaxNesting, &errors);
  if (scan == TextPrecheck::refused) {
    return std::unexpected(diagnostics_error(errors, ::wabt::Location::Type::Text, name));
  }
  if (scan == TextPrecheck::passed_naming_elem) {
    // For the life of the process: the helper exits when the process does.
    static ProbeProcess& text_parser = *new ProbeProcess([](std::span<const std::uint8_t> text) {
      (void)parse_text(text, "probe.wat", ::wabt::Features());  // prepare_module's features
    });
    if (auto death = text_parser.death_on(bytes)) {
      return std::unexpected(compile_error(
          name, cat("malformed module: wabt's text parser ", *death,
                    " (look at the element segments: it reads their expressions past an error)")));
    }
  }
  return parse_text(bytes, name, features);
}

// Last line of defence: wabt 1.0.32 throws on some malformed input (the
// known case, std::length_error for `(@"`, is stopped by precheck_text,
// because wabt leaks the module when it throws); any other such input is a
// malformed module like the rest, never std::terminate.
std::expected<Parsed, WasmError> parse_or_reject(std::span<const std::uint8_t> bytes,
                                                 const std::string& name,
                                                 const ::wabt::Features& features) {
  try {
    return parse(bytes, name, features);
  } catch (const std::exception& e) {
    return std::unexpected(
        compile_error(name, cat("malformed module (wabt's reader failed: ", e.what(), ")")));
  }
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
      track_failed_grows(module, add_global(module, ::wabt::Type::I32, kGrowFailedGlobalExport));
      prepared.grow_tracked = true;
    }
  }
  if (limits.fuel != 0 || limits.timeout.count() > 0) {
    const ::wabt::Index out_of_fuel = add_out_of_fuel_import(module);
    const ::wabt::Index fuel_global = add_global(module, ::wabt::Type::I64, kFuelGlobalExport);
    inject_metering(module, fuel_global, out_of_fuel);
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

bool is_wasm_binary(std::span<const std::uint8_t> bytes) noexcept {
  static constexpr std::uint8_t kMagic[] = {0x00, 0x61, 0x73, 0x6d};
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

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
  auto parsed = parse_or_reject(wasm_or_wat, name, features);
  if (!parsed) return std::unexpected(parsed.error());
  ::wabt::Module& module = *parsed->module;

  if (max_nesting(module) > kMaxNesting) {
    dismantle_bodies(module);
    return std::unexpected(
        compile_error(name, cat("blocks nested deeper than ", kMaxNesting, " levels")));
  }
  return prepare_parsed(module, wasm_or_wat, limits, name, features, options);
}

}  // namespace warmpool::wasm::internal
