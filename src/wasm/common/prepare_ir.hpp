// wasm/common/prepare_ir.hpp — internal: walking wabt's expression trees
// without recursion, for the preparation pass (prepare.hpp): a hostile module
// nests blocks deep enough to overflow the stack of a recursive walk.
//
//   for_each_nested_list(func->exprs, [&](::wabt::ExprList& list, std::size_t depth) {
//     deepest = std::max(deepest, depth);
//   });
#pragma once

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <cstddef>
#include <utility>
#include <vector>

namespace warmpool::wasm::internal {

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

}  // namespace warmpool::wasm::internal
