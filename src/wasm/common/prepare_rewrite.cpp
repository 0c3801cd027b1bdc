#include "wasm/common/prepare_rewrite.hpp"

#include <wabt/cast.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasm/common/prepare_ir.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/wabt_types.hpp"

namespace warmpool::wasm::internal {
namespace {

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

}  // namespace

// The metering globals are left out: the host sets them at every call anyway.
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

void add_fuel_metering(::wabt::Module& module) {
  const ::wabt::Index out_of_fuel = add_out_of_fuel_import(module);
  const ::wabt::Index fuel_global = add_global(module, ::wabt::Type::I64, kFuelGlobalExport);
  inject_metering(module, fuel_global, out_of_fuel);
}

void add_grow_tracking(::wabt::Module& module) {
  track_failed_grows(module, add_global(module, ::wabt::Type::I32, kGrowFailedGlobalExport));
}

}  // namespace warmpool::wasm::internal
