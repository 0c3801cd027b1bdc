#include "wasm/common/text_precheck.hpp"

#include <wabt/token.h>
#include <wabt/wast-lexer.h>

#include <string>
#include <utility>
#include <vector>

#include "wasm/common/text.hpp"

namespace warmpool::wasm::internal {
namespace {

using ::wabt::TokenType;

// What wabt 1.0.32's parser accepts after `(` inside an element expression
// list without asserting: `item`, or an opcode that starts a folded
// instruction (the block-structure keywords else/end/catch do not).
bool starts_element_expression(TokenType type) {
  if (type == TokenType::Item) return true;
  if (!::wabt::IsTokenTypeOpcode(type)) return false;
  return type != TokenType::Else && type != TokenType::End && type != TokenType::Catch &&
         type != TokenType::CatchAll;
}

// One open parenthesis: the token right after it, and, for `(elem`, whether
// its element expression list has started (after the reference type, or at
// once for an elem inlined in a table).
struct Frame {
  TokenType head = TokenType::Invalid;
  bool in_expression_list = false;
};

}  // namespace

bool precheck_text(std::span<const std::uint8_t> text, ::wabt::Errors* errors) {
  ::wabt::Errors lexer_errors;  // the parser reports these again, in context
  auto lexer = ::wabt::WastLexer::CreateBufferLexer("", text.data(), text.size(), &lexer_errors);
  auto reject = [errors](const ::wabt::Token& token, std::string message) {
    ::wabt::Location loc = token.loc;
    loc.filename = {};  // a view into the lexer, which is about to go
    errors->emplace_back(::wabt::ErrorLevel::Error, loc, std::move(message));
    return false;
  };
  std::vector<Frame> open;
  bool after_lpar = false;
  for (;;) {
    const ::wabt::Token token = lexer->GetToken();
    const TokenType type = token.token_type();
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
                      cat("unexpected token \"", token.to_string_clamp(40),
                          "\" in an element segment, expected an instruction or (item ...)"));
      }
      if (type == TokenType::Elem) {
        open.back().in_expression_list = parent != nullptr && parent->head == TokenType::Table;
      }
    } else if (type == TokenType::ValueType && !open.empty() &&
               open.back().head == TokenType::Elem) {
      open.back().in_expression_list = true;
    }
    if (type == TokenType::Eof) return true;
    if (type == TokenType::Lpar || type == TokenType::LparAnn) {
      open.emplace_back();
      after_lpar = type == TokenType::Lpar;
    } else if (type == TokenType::Rpar && !open.empty()) {
      open.pop_back();
    }
  }
}

}  // namespace warmpool::wasm::internal
