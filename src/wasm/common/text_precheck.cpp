#include "wasm/common/text_precheck.hpp"

#include <wabt/token.h>
#include <wabt/wast-lexer.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasm/common/text.hpp"

namespace warmpool::wasm::internal {

bool starts_like_text(std::span<const std::uint8_t> bytes) noexcept {
  std::size_t at = 0;
  auto next_is = [&](char a, char b) {
    return at + 1 < bytes.size() && bytes[at] == a && bytes[at + 1] == b;
  };
  while (at < bytes.size()) {
    const std::uint8_t c = bytes[at];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++at;
    } else if (next_is(';', ';')) {
      while (at < bytes.size() && bytes[at] != '\n') ++at;
    } else if (next_is('(', ';')) {
      std::size_t depth = 0;
      do {
        if (next_is('(', ';')) {
          ++depth;
          at += 2;
        } else if (next_is(';', ')')) {
          --depth;
          at += 2;
        } else {
          ++at;
        }
      } while (depth > 0 && at < bytes.size());
    } else {
      return c == '(';
    }
  }
  return false;
}
namespace {

using ::wabt::TokenType;

// What wabt 1.0.32's parser accepts after `(` inside an element expression
// list without asserting: `item`, or a token its IsPlainInstr/IsBlockInstr
// lists (ParseExpr's cases). Every other opcode token aborts it: the
// block-structure keywords else/end/catch/catch_all and ref.extern (a
// spec-test constant, not an instruction). Listed rather than excluded so
// that a token this list has never seen is rejected, never passed through
// (SimdLoadSplat is left out: no keyword lexes as it; splat loads are LOAD).
bool starts_element_expression(TokenType type) {
  switch (type) {
    case TokenType::Item:
    case TokenType::AtomicFence:
    case TokenType::AtomicLoad:
    case TokenType::AtomicNotify:
    case TokenType::AtomicRmw:
    case TokenType::AtomicRmwCmpxchg:
    case TokenType::AtomicStore:
    case TokenType::AtomicWait:
    case TokenType::Binary:
    case TokenType::Block:
    case TokenType::Br:
    case TokenType::BrIf:
    case TokenType::BrTable:
    case TokenType::Call:
    case TokenType::CallIndirect:
    case TokenType::CallRef:
    case TokenType::Compare:
    case TokenType::Const:
    case TokenType::Convert:
    case TokenType::DataDrop:
    case TokenType::Drop:
    case TokenType::ElemDrop:
    case TokenType::GlobalGet:
    case TokenType::GlobalSet:
    case TokenType::If:
    case TokenType::Load:
    case TokenType::LocalGet:
    case TokenType::LocalSet:
    case TokenType::LocalTee:
    case TokenType::Loop:
    case TokenType::MemoryCopy:
    case TokenType::MemoryFill:
    case TokenType::MemoryGrow:
    case TokenType::MemoryInit:
    case TokenType::MemorySize:
    case TokenType::Nop:
    case TokenType::RefFunc:
    case TokenType::RefIsNull:
    case TokenType::RefNull:
    case TokenType::Rethrow:
    case TokenType::ReturnCallIndirect:
    case TokenType::ReturnCall:
    case TokenType::Return:
    case TokenType::Select:
    case TokenType::SimdLaneOp:
    case TokenType::SimdLoadLane:
    case TokenType::SimdStoreLane:
    case TokenType::SimdShuffleOp:
    case TokenType::Store:
    case TokenType::TableCopy:
    case TokenType::TableFill:
    case TokenType::TableGet:
    case TokenType::TableGrow:
    case TokenType::TableInit:
    case TokenType::TableSet:
    case TokenType::TableSize:
    case TokenType::Ternary:
    case TokenType::Throw:
    case TokenType::Try:
    case TokenType::Unary:
    case TokenType::Unreachable: return true;
    default: return false;
  }
}

// The token as written, at most 40 bytes of it: an opcode token carries its
// opcode, not its text, and ref.extern carries none (Token::to_string would
// name another instruction). The end of the input is shown as wabt names it.
std::string written(std::span<const std::uint8_t> text, const ::wabt::Token& token) {
  const ::wabt::Location& loc = token.loc;
  const std::string_view all(reinterpret_cast<const char*>(text.data()), text.size());
  std::size_t line_start = 0;
  for (int line = 1; line < loc.line && line_start != std::string_view::npos; ++line) {
    line_start = all.find('\n', line_start);
    if (line_start != std::string_view::npos) ++line_start;
  }
  const std::size_t first = line_start + static_cast<std::size_t>(loc.first_column - 1);
  const std::size_t last = line_start + static_cast<std::size_t>(loc.last_column - 1);
  if (line_start == std::string_view::npos || loc.first_column < 1 || first >= last ||
      last > all.size()) {
    return token.to_string_clamp(40);
  }
  return std::string(all.substr(first, std::min<std::size_t>(last - first, 40)));
}

// One open parenthesis: the token right after it, and, for `(elem`, whether
// its element expression list has started (after the reference type, or at
// once for an elem inlined in a table).
struct Frame {
  TokenType head = TokenType::Invalid;
  bool in_expression_list = false;
};

// Blocks written without parentheses (`block ... end`) nest like folded ones.
bool opens_block(TokenType type) {
  return type == TokenType::Block || type == TokenType::Loop || type == TokenType::If ||
         type == TokenType::Try;
}

}  // namespace

TextPrecheck precheck_text(std::span<const std::uint8_t> text, std::size_t max_nesting,
                           ::wabt::Errors* errors) {
  ::wabt::Errors lexer_errors;  // the parser reports these again, in context
  auto lexer = ::wabt::WastLexer::CreateBufferLexer("", text.data(), text.size(), &lexer_errors);
  auto reject = [errors](const ::wabt::Token& token, std::string message) {
    ::wabt::Location loc = token.loc;
    loc.filename = {};  // a view into the lexer, which is about to go
    errors->emplace_back(::wabt::ErrorLevel::Error, loc, std::move(message));
    return TextPrecheck::refused;
  };
  std::vector<Frame> open;
  std::size_t open_blocks = 0;  // unfolded ones; folded ones are in `open`
  bool after_lpar = false;
  bool names_elem = false;
  for (;;) {
    const ::wabt::Token token = lexer->GetToken();
    const TokenType type = token.token_type();
    names_elem = names_elem || type == TokenType::Elem;
    if (!after_lpar && opens_block(type)) ++open_blocks;
    if ((type == TokenType::End || type == TokenType::Delegate) && open_blocks > 0) --open_blocks;
    // An annotation whose quoted name runs into a line break at the end of
    // the input comes back with an inverted text range: the parser's
    // Token::to_string then throws std::length_error (and leaks the module).
    if (token.HasText() && token.text().size() > text.size()) {
      return reject(token, "unterminated annotation or string");
    }
    if (after_lpar) {
      after_lpar = false;
      open.back().head = type;
      const Frame* parent = open.size() >= 2 ? &open[open.size() - 2] : nullptr;
      if (parent != nullptr && parent->head == TokenType::Elem && parent->in_expression_list &&
          !starts_element_expression(type)) {
        return reject(token,
                      cat("unexpected token \"", written(text, token),
                          "\" in an element segment, expected an instruction or (item ...)"));
      }
      if (type == TokenType::Elem) {
        open.back().in_expression_list = parent != nullptr && parent->head == TokenType::Table;
      }
    } else if (type == TokenType::ValueType && !open.empty() &&
               open.back().head == TokenType::Elem) {
      open.back().in_expression_list = true;
    }
    if (type == TokenType::Eof) {
      return names_elem ? TextPrecheck::passed_naming_elem : TextPrecheck::passed;
    }
    if (type == TokenType::Lpar || type == TokenType::LparAnn) {
      open.emplace_back();
      after_lpar = type == TokenType::Lpar;
    }
    if (open.size() + open_blocks > max_nesting) {
      return reject(token,
                    cat("nested deeper than ", max_nesting, " levels (parentheses and blocks)"));
    }
    if (type == TokenType::Rpar && !open.empty()) {
      open.pop_back();
    }
  }
}

}  // namespace warmpool::wasm::internal
