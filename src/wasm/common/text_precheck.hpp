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
//   if (!precheck_text(text, kMaxNesting, &errors)) report(errors);
//   if (names_element_segment(text)) probe(text);
#pragma once

#include <wabt/error.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace warmpool::wasm::internal {

// True when the text cannot reach those failures; false with one error
// (line and column of the offending token) appended to `errors` otherwise.
// Text nested deeper than `max_nesting` levels, parentheses and unfolded
// blocks together, is refused too: the parser recurses once per level, and
// some 12,000 of them
// overflow an 8 MiB stack (wat2wasm, the same parser). Everything else is left to wabt's
// parser, which reports it cleanly.
bool precheck_text(std::span<const std::uint8_t> text, std::size_t max_nesting,
                   ::wabt::Errors* errors);

// Whether the parser can reach an element expression list at all: only an
// `elem` token leads there.
bool names_element_segment(std::span<const std::uint8_t> text);

}  // namespace warmpool::wasm::internal
