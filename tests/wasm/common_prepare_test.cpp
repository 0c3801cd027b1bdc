// The preparation pass: parsing, validation, reserved names, the memory cap
// and what metering adds. Its run-time effect (fuel, deadlines, grow
// tracking) is tested through the engines in wabt_limits_test.cpp.
#include <gtest/gtest.h>
#include <wabt/token.h>
#include <wabt/wast-lexer.h>

#include <algorithm>
#include <initializer_list>
#include <random>
#include <ranges>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "wasm/common/prepare.hpp"
#include "wasm/common/text.hpp"

namespace warmpool::wasm::internal {
namespace {

using testing::answer_module;
using testing::bytes_of;
using testing::module_with_body;

// The token wabt's own lexer makes of `keyword`.
::wabt::TokenType token_type_of(std::string_view keyword) {
  ::wabt::Errors errors;
  auto lexer = ::wabt::WastLexer::CreateBufferLexer("", keyword.data(), keyword.size(), &errors);
  return lexer->GetToken().token_type();
}

constexpr std::string_view kLoop = R"((module
  (memory 1)
  (func (export "count") (param i32) (result i32)
    (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1)))
             (br_if $l (i32.lt_s (local.get 1) (local.get 0))))
    (local.get 1))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))))";

TEST(PrepareModule, AcceptsTextAndListsNumericExports) {
  auto prepared = prepare_module(bytes_of(kLoop), {}, "loop.wat");
  ASSERT_TRUE(prepared) << prepared.error();
  EXPECT_TRUE(is_wasm_binary(prepared->binary));
  ASSERT_EQ(prepared->exports.size(), 2u);
  EXPECT_EQ(prepared->exports[0].name, "count");
  EXPECT_EQ(prepared->exports[0].type.params, std::vector{ValueType::i32});
  EXPECT_EQ(prepared->exports[0].type.results, std::vector{ValueType::i32});
  EXPECT_FALSE(prepared->metered);
  EXPECT_EQ(prepared->initial_memory_pages, 1u);
}

TEST(PrepareModule, PassesAnUnlimitedBinaryThroughUnchanged) {
  const auto bytes = answer_module();
  auto prepared = prepare_module(bytes, {}, "answer.wasm");
  ASSERT_TRUE(prepared) << prepared.error();
  EXPECT_EQ(prepared->binary, bytes);
}

TEST(PrepareModule, MeteringAddsTheReservedImportAndGlobalButHidesThem) {
  for (const Limits& limits :
       {Limits{.fuel = 1000}, Limits{.timeout = std::chrono::milliseconds(5)}}) {
    auto prepared = prepare_module(bytes_of(kLoop), limits, "loop.wat");
    ASSERT_TRUE(prepared) << prepared.error();
    EXPECT_TRUE(prepared->metered);
    EXPECT_EQ(prepared->exports.size(), 2u);
    for (const auto& e : prepared->exports) EXPECT_FALSE(e.name.starts_with("__warmpool"));
    // The output uses the reserved names, so feeding it back in is refused,
    // naming the metering import: proof the pass put it there.
    auto again = prepare_module(prepared->binary, {}, "again.wasm");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind(), ErrorKind::link);
    EXPECT_NE(again.error().message().find("warmpool.out_of_fuel"), std::string::npos)
        << again.error();
  }
}

TEST(PrepareModule, MemoryCapAddsGrowTrackingWithoutMetering) {
  auto prepared = prepare_module(bytes_of(kLoop), {.max_memory_pages = 4}, "loop.wat");
  ASSERT_TRUE(prepared) << prepared.error();
  EXPECT_FALSE(prepared->metered);
  EXPECT_TRUE(prepared->grow_tracked);
  auto again = prepare_module(prepared->binary, {}, "again.wasm");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("__warmpool_grow_failed"), std::string::npos)
      << again.error();
}

// What V8's in-place reset relies on: every mutable global the module defines
// and memory 0 under reserved names, and a flag for code that changes state
// reset cannot reach through exports.
TEST(PrepareModule, ExposeStateNamesMutableGlobalsAndMemoryAndFlagsWhatExportsCannotUndo) {
  constexpr std::string_view kState = R"((module
    (memory 1)
    (global (mut i32) (i32.const 0))
    (global i32 (i32.const 1))
    (global (mut f64) (f64.const 0))
    (func (export "f") (result i32) (global.get 0))))";
  auto prepared = prepare_module(bytes_of(kState), {}, "state.wat", {.expose_state = true});
  ASSERT_TRUE(prepared) << prepared.error();
  const ExposedState& state = prepared->state;
  EXPECT_EQ(state.globals,
            (std::vector<std::string>{"__warmpool_global_0", "__warmpool_global_2"}));
  EXPECT_EQ(state.memory, "__warmpool_memory");
  EXPECT_TRUE(state.restorable_in_place());
  ASSERT_EQ(prepared->exports.size(), 1u);  // the hidden exports stay hidden
  EXPECT_EQ(prepared->exports[0].name, "f");
  auto again = prepare_module(prepared->binary, {}, "again.wasm");  // they are really there
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("__warmpool_"), std::string::npos) << again.error();

  EXPECT_TRUE(prepare_module(bytes_of(kState), {}, "state.wat")->state.globals.empty());

  const std::pair<std::string_view, bool ExposedState::*> kWrites[] = {
      {R"((module (table 1 funcref) (func (table.set 0 (i32.const 0) (ref.null func)))))",
       &ExposedState::tables_written},
      {R"((module (table 1 funcref) (func (drop (table.grow 0 (ref.null func) (i32.const 1))))))",
       &ExposedState::tables_written},
      {R"((module (memory 1) (global (mut i32) (i32.const 0)) (data "x") (func (data.drop 0))))",
       &ExposedState::drops_segments},
      {R"((module (func $f) (elem func $f) (func (elem.drop 0))))", &ExposedState::drops_segments},
  };
  for (const auto& [text, flag] : kWrites) {
    auto p = prepare_module(bytes_of(text), {}, "w.wat", {.expose_state = true});
    ASSERT_TRUE(p) << p.error() << text;
    EXPECT_TRUE(p->state.*flag) << text;
    EXPECT_FALSE(p->state.restorable_in_place()) << text;
    EXPECT_TRUE(p->state.globals.empty() && p->state.memory.empty()) << text;  // nothing exposed
  }
}

TEST(PrepareModule, RejectsInitialMemoryAboveTheCap) {
  auto prepared =
      prepare_module(bytes_of("(module (memory 8))"), {.max_memory_pages = 4}, "big.wat");
  ASSERT_FALSE(prepared);
  EXPECT_EQ(prepared.error().kind(), ErrorKind::memory_limit);
  EXPECT_NE(prepared.error().message().find("big.wat"), std::string::npos);
  EXPECT_NE(prepared.error().message().find("4 pages"), std::string::npos) << prepared.error();
}

TEST(PrepareModule, RejectsReservedNames) {
  auto imports = prepare_module(
      bytes_of(R"((module (import "warmpool" "out_of_fuel" (func (result i64)))))"), {}, "r.wat");
  ASSERT_FALSE(imports);
  EXPECT_EQ(imports.error().kind(), ErrorKind::link);

  auto exports = prepare_module(
      bytes_of(R"((module (global (export "__warmpool_fuel") i64 (i64.const 0))))"), {}, "r.wat");
  ASSERT_FALSE(exports);
  EXPECT_EQ(exports.error().kind(), ErrorKind::compile);
  EXPECT_NE(exports.error().message().find("__warmpool_fuel"), std::string::npos);
}

void expect_compile_error(std::span<const std::uint8_t> bytes, std::string_view what) {
  auto prepared = prepare_module(bytes, {.fuel = 1000, .max_memory_pages = 2}, "bad.wasm");
  ASSERT_FALSE(prepared) << what;
  EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << what << ": " << prepared.error();
  EXPECT_TRUE(prepared.error().message().starts_with("bad.wasm"))
      << what << ": " << prepared.error();
}

TEST(PrepareModule, RejectsInvalidInputWithTheNameAndNeverCrashes) {
  expect_compile_error({}, "empty");
  expect_compile_error(bytes_of("(module (func (result i32)))"), "invalid text (type mismatch)");
  expect_compile_error(bytes_of("this is not a module"), "garbage text");
  std::vector<std::uint8_t> wrong_magic = answer_module();
  wrong_magic[1] = 'b';
  expect_compile_error(wrong_magic, "wrong magic");
  std::vector<std::uint8_t> wrong_version = answer_module();
  wrong_version[4] = 2;
  expect_compile_error(wrong_version, "wrong version");

  const auto good = answer_module();
  for (std::size_t n = 4; n < good.size(); ++n) {
    if (n == 8 || n == 15) continue;  // the header alone, or with the type section, is valid
    expect_compile_error(std::span(good).first(n), "truncated");
  }

  std::vector<std::uint8_t> absurd = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01};
  testing::append_leb(absurd, 0xFFFFFFFFu);  // a type section claiming 4 GiB
  absurd.insert(absurd.end(), {0x01, 0x60, 0x00, 0x00});
  expect_compile_error(absurd, "absurd section size");

  std::mt19937 random(1234);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> noise(8 + random() % 256);
    std::generate(noise.begin(), noise.end(), [&] { return static_cast<std::uint8_t>(random()); });
    if (i % 2 == 0) std::copy_n(answer_module().begin(), 8, noise.begin());  // past the magic
    auto prepared = prepare_module(noise, {.fuel = 1000}, "noise.wasm");
    if (!prepared) {
      EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << prepared.error();
    }
  }
}

// True when `message` is `prefix`, then one or more characters from `digits`
// (exactly `count` of them when count != 0), then `suffix`.
bool has_shape(std::string_view message, std::string_view prefix, std::string_view digits,
               std::size_t count, std::string_view suffix) {
  if (!message.starts_with(prefix)) return false;
  message.remove_prefix(prefix.size());
  const std::size_t n = std::min(message.find_first_not_of(digits), message.size());
  if (n == 0 || (count != 0 && n != count)) return false;
  return message.substr(n).starts_with(suffix);
}

// Text that parses but fails validation: wabt reports it with Locations whose
// file name belongs to the parser's lexer, so the message must be built while
// that name is alive (ASan caught a use-after-free here).
TEST(PrepareModule, ValidationErrorsInTextNameTheModuleLineAndColumn) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 1000, .max_memory_pages = 2}}) {
    auto prepared =
        prepare_module(bytes_of("(module\n  (func (export \"f\") (result i32) (local.get 5)))"),
                       limits, "invalid_local.wat");
    ASSERT_FALSE(prepared);
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile);
    const std::string& message = prepared.error().message();
    EXPECT_TRUE(has_shape(message, "invalid_local.wat:2:", "0123456789", 0, ": error: "))
        << message;
    EXPECT_NE(message.find("local"), std::string::npos) << message;
  }
}

// wabt prints binary diagnostics as "<offset>: error: ..." with no file name.
TEST(PrepareModule, BinaryErrorsStartWithTheModuleNameThenTheOffset) {
  std::vector<std::uint8_t> absurd = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01};
  testing::append_leb(absurd, 0x7fu);  // a type section longer than the input
  auto prepared = prepare_module(absurd, {}, "x.wasm");
  ASSERT_FALSE(prepared);
  EXPECT_EQ(prepared.error().kind(), ErrorKind::compile);
  const std::string& message = prepared.error().message();
  EXPECT_TRUE(has_shape(message, "x.wasm: ", "0123456789abcdef", 7, ": error: ")) << message;
  EXPECT_NE(message.find("section"), std::string::npos) << message;

  const auto body_invalid = module_with_body({0x42, 0x01});  // i64.const where i32 is expected
  auto invalid = prepare_module(body_invalid, {}, "y.wasm");
  ASSERT_FALSE(invalid);
  EXPECT_TRUE(has_shape(invalid.error().message(), "y.wasm: ", "0123456789abcdef", 7, ": error: "))
      << invalid.error();
}

using Section = std::pair<std::uint8_t, std::vector<std::uint8_t>>;

// A binary module made of `sections` (id, content), in the order given.
std::vector<std::uint8_t> binary(std::initializer_list<Section> sections) {
  std::vector<std::uint8_t> out = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (const auto& [id, content] : sections) {
    out.push_back(id);
    testing::append_leb(out, content.size());
    out.insert(out.end(), content.begin(), content.end());
  }
  return out;
}

const Section kTypeSection = {0x01, {0x01, 0x60, 0x00, 0x00}};  // [] -> []
const Section kFuncSection = {0x03, {0x01, 0x00}};
const Section kTableSection = {0x04, {0x01, 0x70, 0x00, 0x01}};  // funcref, min 1
const Section kMemorySection = {0x05, {0x01, 0x00, 0x01}};       // min 1 page

void expect_clean_rejection(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 1000, .max_memory_pages = 2}}) {
    auto prepared = prepare_module(bytes, limits, name);
    ASSERT_FALSE(prepared) << name;
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << prepared.error();
    EXPECT_TRUE(
        has_shape(prepared.error().message(), name + ": ", "0123456789abcdef", 7, ": error: "))
        << prepared.error();
  }
}

// Debian's libwabt 1.0.32 aborts the process (assertion in
// intrusive_list::back, upstream wabt #2199) when building the IR of a binary
// whose global init expression leaves a block open at the end of the global
// section, as soon as any later `end` closes an empty expression: an element
// offset, a data offset or a function body. All four used to kill the host.
TEST(PrepareModule, RejectsInitExpressionsThatAbortWabtsBinaryReader) {
  // One i32 global: `i32.const 0; block` and the section ends.
  const Section open_block_global = {0x06, {0x01, 0x7f, 0x00, 0x41, 0x00, 0x02, 0x40}};
  const std::vector<std::uint8_t> empty_segment = {0x01, 0x00, 0x0b, 0x00};  // offset: `end`
  expect_clean_rejection(binary({kTableSection, open_block_global, {0x09, empty_segment}}),
                         "then_elem.wasm");
  expect_clean_rejection(binary({kMemorySection, open_block_global, {0x0b, empty_segment}}),
                         "then_data.wasm");
  expect_clean_rejection(binary({kTypeSection,
                                 kFuncSection,
                                 open_block_global,
                                 {0x0a, {0x01, 0x02, 0x00, 0x0b}}}),  // body: `end`
                         "then_body.wasm");
  // The fuzzer's original find (i64.div_u and an open `if` in the init).
  expect_clean_rejection(testing::read_bytes(testing::data_file("regress_init_expr_end.wasm")),
                         "regress_init_expr_end.wasm");
}

// Init expressions that are just `end`, the shapes next to the ones above:
// never an abort, and, like every binary error, reported at their offset.
TEST(PrepareModule, RejectsEmptyInitExpressions) {
  const std::vector<std::uint8_t> empty_segment = {0x01, 0x00, 0x0b, 0x00};
  expect_clean_rejection(binary({{0x06, {0x01, 0x7f, 0x00, 0x0b}}}), "global.wasm");
  expect_clean_rejection(binary({kMemorySection, {0x0b, empty_segment}}), "data_offset.wasm");
  expect_clean_rejection(binary({kTableSection, {0x09, empty_segment}}), "elem_offset.wasm");
  // A passive segment of funcref expressions holding one empty expression.
  expect_clean_rejection(binary({{0x09, {0x01, 0x05, 0x70, 0x01, 0x0b}}}), "elem_expr.wasm");
}

// wabt 1.0.32's text parser aborts the process ("ParseExpr should only be
// called when IsExpr() is true") on a parenthesis in an element expression
// list that opens neither an instruction nor `item` (found by fuzz_module).
TEST(PrepareModule, RejectsElementExpressionsThatAbortWabtsTextParser) {
  for (std::string_view text : {
           "(module (elem funcref (foo)))",
           "(module\n  (elem declare funcref (ref.null func) (else)))",
           "(module (elem $e externref (end)))",
           "(module (table 1 funcref) (elem (table 0) (offset (i32.const 0)) funcref (offset)))",
           "(module (table funcref (elem (table 0))))",
           "(module (table funcref (elem (ref.null func) (catch_all))))",
           "(module (elem funcref (",
           "(module (elem funcref (ref.extern)))",
           "(module (elem funcref (ref.null func) (ref.extern 1)))",
       }) {
    auto prepared = prepare_module(bytes_of(text), {}, "elem.wat");
    ASSERT_FALSE(prepared) << text;
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << prepared.error();
    EXPECT_TRUE(has_shape(prepared.error().message(), "elem.wat:", "0123456789:", 0, " error: "))
        << text << ": " << prepared.error();
  }
}

// Every opcode keyword wabt's lexer knows, once after `(` in an element
// expression list: each is parsed, or rejected by the pre-scan with a line and
// column, never left to the child probe (ref.extern, an opcode token the
// parser does not take there, aborted the process until the pre-scan learned
// it; found by fuzz_module). The list is checked to cover every opcode token
// type, so a wabt with new ones fails here rather than in production.
TEST(PrepareModule, SurvivesEveryOpcodeKeywordInAnElementExpression) {
  constexpr std::string_view kOneKeywordPerOpcodeToken =
      "atomic.fence i32.atomic.load memory.atomic.notify i32.atomic.rmw.add "
      "i32.atomic.rmw.cmpxchg i32.atomic.store memory.atomic.wait32 i32.add block br br_if "
      "br_table call call_indirect call_ref catch catch_all i32.eq i32.const i32.wrap_i64 "
      "data.drop drop elem.drop else end global.get global.set if i32.load local.get "
      "local.set local.tee loop memory.copy memory.fill memory.grow memory.init memory.size "
      "nop ref.extern ref.func ref.is_null ref.null rethrow return_call_indirect "
      "return_call return select i32x4.extract_lane v128.load8_lane v128.store8_lane "
      "i8x16.shuffle i32.store table.copy table.fill table.get table.grow table.init "
      "table.set table.size v128.bitselect throw try i32.clz unreachable";
  std::set<::wabt::TokenType> covered;
  for (std::string_view keyword :
       std::views::split(kOneKeywordPerOpcodeToken, ' ') | std::views::transform([](auto word) {
         return std::string_view(word.begin(), word.end());
       })) {
    covered.insert(token_type_of(keyword));
    for (const std::string& text : {cat("(module (elem funcref (", keyword, ")))"),
                                    cat("(module (table funcref (elem (", keyword, " 0))))")}) {
      auto prepared = prepare_module(bytes_of(text), {}, "elem.wat");
      if (!prepared) {
        EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << text;
        EXPECT_EQ(prepared.error().message().find("text parser"), std::string::npos)
            << prepared.error();
      }
    }
  }
  // wabt 1.0.32 lexes no keyword as SimdLoadSplat: every splat load is LOAD.
  EXPECT_EQ(token_type_of("v128.load32_splat"), ::wabt::TokenType::Load);
  covered.insert(::wabt::TokenType::SimdLoadSplat);
  for (int type = static_cast<int>(::wabt::TokenType::First_Opcode);
       type <= static_cast<int>(::wabt::TokenType::Last_Opcode); ++type) {
    const auto token_type = static_cast<::wabt::TokenType>(type);
    EXPECT_TRUE(covered.contains(token_type))
        << "no keyword above lexes as " << ::wabt::GetTokenTypeName(token_type);
  }
}

// After an error in an offset expression the parser resynchronises and can
// take a value type nested anywhere for the segment's element type, then
// read an expression list there: no scan of the text follows it, and these
// pass the pre-scan (the first found by fuzz_module). Parsed in a throwaway
// child first, they end as compile errors that say how the parser died.
TEST(PrepareModule, RejectsTextThatAbortsWabtsParserAfterAnError) {
  for (std::string_view text : {"(elem(if((f64(", "(module (elem (if ((f64 (foo)))))"}) {
    auto prepared = prepare_module(bytes_of(text), {}, "elem.wat");
    ASSERT_FALSE(prepared) << text;
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << prepared.error();
    EXPECT_TRUE(prepared.error().message().starts_with(
        "elem.wat: malformed module: wabt's text parser aborted (SIGABRT): "))
        << prepared.error();
    EXPECT_NE(prepared.error().message().find("IsExpr"), std::string::npos) << prepared.error();
  }
}

// The same segments written correctly still compile: the pre-scan only stops
// what the parser would abort on.
TEST(PrepareModule, AcceptsElementExpressionsInEveryTextForm) {
  auto prepared = prepare_module(bytes_of(R"((module
  (table $t 2 funcref)
  (table funcref (elem (ref.func $f) (item ref.null func)))
  (func $f (export "f"))
  (elem (table $t) (offset (i32.const 0)) funcref (ref.func $f) (item (ref.func $f)))
  (elem (i32.const 1) func $f)
  (elem declare funcref (ref.null func))
  (elem $passive externref (ref.null extern) (item ref.null extern)))
)"),
                                 {.fuel = 1000}, "elem.wat");
  ASSERT_TRUE(prepared) << prepared.error();
  ASSERT_EQ(prepared->exports.size(), 1u);
  EXPECT_EQ(prepared->exports[0].name, "f");
}

// wabt 1.0.32's lexer throws std::length_error on an annotation whose quoted
// name runs into a line break at the end of the input (found by
// fuzz_module): uncaught, it ended the process through std::terminate, and
// caught, wabt leaks the module (so LeakSanitizer also checks this).
TEST(PrepareModule, RejectsTextThatMakesWabtThrow) {
  for (std::string_view text : {"(@\"\n", "(module\n  (func (export \"f\"))\n  (@\"x\n"}) {
    auto prepared = prepare_module(bytes_of(text), {}, "annotation.wat");
    ASSERT_FALSE(prepared) << text;
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << prepared.error();
    EXPECT_TRUE(prepared.error().message().starts_with("annotation.wat")) << prepared.error();
  }
}

// With annotations enabled wabt 1.0.32's parser never returns from an
// annotation left open at the end of the input; they stay disabled, so these
// are plain errors.
TEST(PrepareModule, AnUnclosedAnnotationIsAnErrorNotAHang) {
  for (std::string_view text : {"(module (@a", "(module (@a (func)"}) {
    auto prepared = prepare_module(bytes_of(text), {}, "annotation.wat");
    ASSERT_FALSE(prepared) << text;
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile) << prepared.error();
    EXPECT_NE(prepared.error().message().find("annotations not enabled"), std::string::npos)
        << prepared.error();
  }
}

TEST(PrepareModule, RejectsAbsurdNestingInsteadOfOverflowingTheStack) {
  constexpr int kDepth = 100'000;
  std::vector<std::uint8_t> body;
  for (int i = 0; i < kDepth; ++i) body.insert(body.end(), {0x02, 0x40});  // block
  for (int i = 0; i < kDepth; ++i) body.push_back(0x0b);                   // end
  body.insert(body.end(), {0x41, 0x00});                                   // i32.const 0
  auto prepared = prepare_module(module_with_body(body), {.fuel = 1000}, "deep.wasm");
  ASSERT_FALSE(prepared);
  EXPECT_EQ(prepared.error().kind(), ErrorKind::compile);
  EXPECT_NE(prepared.error().message().find("nested"), std::string::npos) << prepared.error();
}

// wabt's interpreter allocates a call's locals before it checks its stack:
// 16 groups of 2^28 locals threw std::bad_alloc out of a call and ended the
// host. 50,000 is V8's limit too.
TEST(PrepareModule, RefusesFunctionsWithMoreThanFiftyThousandLocals) {
  auto with_locals = [](int count) {
    std::string text = "(module (func) (func (local";
    for (int i = 0; i < count; ++i) text += " i32";
    return text + ")))";
  };
  EXPECT_TRUE(prepare_module(bytes_of(with_locals(50'000)), {}, "locals.wat"));
  auto prepared = prepare_module(bytes_of(with_locals(50'001)), {}, "locals.wat");
  ASSERT_FALSE(prepared);
  EXPECT_EQ(prepared.error().kind(), ErrorKind::compile);
  EXPECT_EQ(prepared.error().message(),
            "locals.wat: function 1 declares 50001 locals, above the limit of 50000");
}

// Text too: wabt's parser recurses once per level, folded or not, and before
// the pre-scan counted levels 100,000 of them crashed the process.
TEST(PrepareModule, RejectsAbsurdNestingInTextBeforeTheParserRecurses) {
  auto nested = [](int depth, std::string_view open, std::string_view close) {
    std::string text = "(module (func (export \"f\")\n";
    for (int i = 0; i < depth; ++i) text += open;
    for (int i = 0; i < depth; ++i) text += close;
    return text + "))";
  };
  for (const auto& [open, close] : {std::pair{"(block ", ")"}, std::pair{"block ", "end "},
                                    std::pair{"(loop ", ")"}, std::pair{"if ", "end "}}) {
    auto prepared = prepare_module(bytes_of(nested(100'000, open, close)), {}, "deep.wat");
    ASSERT_FALSE(prepared) << open;
    EXPECT_EQ(prepared.error().kind(), ErrorKind::compile);
    EXPECT_TRUE(prepared.error().message().starts_with("deep.wat:2:"))
        << prepared.error();  // the line and column where the limit was crossed
    EXPECT_NE(prepared.error().message().find("nested deeper than 2048 levels"), std::string::npos)
        << prepared.error();
  }
  // 2,000 levels, within the limit, still compile, folded or not.
  for (const auto& [open, close] : {std::pair{"(block ", ")"}, std::pair{"block ", "end "}}) {
    auto prepared = prepare_module(bytes_of(nested(2'000, open, close)), {}, "deep.wat");
    EXPECT_TRUE(prepared) << open << prepared.error();
  }
}

}  // namespace
}  // namespace warmpool::wasm::internal
