// wasm/common/text_precheck.hpp — internal: rejects the .wat shapes known to crash wabt's parser.
//
// Debian's libwabt 1.0.32 keeps its assertions, and its text parser aborts
// the whole process ("ParseExpr should only be called when IsExpr() is
// true") when an element segment's expression list holds a parenthesis that
// opens neither an instruction nor `item`, e.g. `(elem funcref (foo))`,
// `(elem funcref (else))`, `(elem funcref (ref.extern))`,
// `(table funcref (elem (offset)))` or a `(` at the end of the input; and it
// throws std::length_error, leaking the module, on an annotation whose quoted
// name runs into a line break at the end of the input (`(@"`). The text is
// scanned with wabt's own lexer first and both are reported as ordinary
// errors instead, with line and column. The scan follows the text's
// parentheses; the parser, after an error, does not, so text that can reach
// an element list at all is also parsed in a helper process before the real
// parse (probe_process.hpp).
//
//   ::wabt::Errors errors;
//   switch (precheck_text(text, kMaxNesting, &errors)) {
//     case TextPrecheck::refused: report(errors); break;
//     case TextPrecheck::passed_naming_elem: probe(text); [[fallthrough]];
//     case TextPrecheck::passed: parse(text);
//   }
#pragma once

#include <wabt/error.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace warmpool::wasm::internal {

enum class TextPrecheck {
  refused,  // one error (line and column of the offending token) was appended
  passed,
  // Passed, and names `elem`: only that token leads to an element expression
  // list, which the scan cannot follow once the parser has resynchronised
  // after an error, so such text is also parsed in a helper process.
  passed_naming_elem,
};

// True when `bytes` can be WebAssembly text at all: after whitespace and
// comments (`;; ...` and nested `(; ... ;)`), the first character opens a
// parenthesis. Anything else is neither a binary nor text, which is said
// plainly instead of as the lexer's first complaint ("1:2: unexpected char").
bool starts_like_text(std::span<const std::uint8_t> bytes) noexcept;

// Refuses text that can reach those failures. Text nested deeper than
// `max_nesting` levels, parentheses and unfolded blocks together, is refused
// too: the parser recurses once per level, and some 12,000 of them overflow
// an 8 MiB stack (wat2wasm, the same parser). Everything else is left to
// wabt's parser, which reports it cleanly.
TextPrecheck precheck_text(std::span<const std::uint8_t> text, std::size_t max_nesting,
                           ::wabt::Errors* errors);

}  // namespace warmpool::wasm::internal
