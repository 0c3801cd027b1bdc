#include "value_text.hpp"

#include <gtest/gtest.h>

namespace warmpool::cli {
namespace {

using wasm::Value;
using wasm::ValueType;

TEST(ValueText, ParsesByType) {
  EXPECT_EQ(parse_value("-7", ValueType::i32), Value(std::int32_t{-7}));
  EXPECT_EQ(parse_value("+7", ValueType::i32), Value(std::int32_t{7}));
  EXPECT_EQ(parse_value("9000000000", ValueType::i64), Value(std::int64_t{9'000'000'000}));
  EXPECT_EQ(parse_value("2.5", ValueType::f32), Value(2.5f));
  EXPECT_EQ(parse_value("-0.125", ValueType::f64), Value(-0.125));
}

TEST(ValueText, RejectsWithTheTypeAndText) {
  auto overflow = parse_value("9000000000", ValueType::i32);
  ASSERT_FALSE(overflow.has_value());
  EXPECT_EQ(overflow.error(), "expected i32, got '9000000000'");
  EXPECT_FALSE(parse_value("12abc", ValueType::i64).has_value());
  EXPECT_FALSE(parse_value("", ValueType::f64).has_value());
  EXPECT_FALSE(parse_value("1.5", ValueType::i32).has_value());
}

TEST(ValueText, FormatsAndSignatures) {
  EXPECT_EQ(format_value(Value(std::int64_t{75025})), "75025");
  EXPECT_EQ(format_value(Value(0.1)), "0.1");
  wasm::FunctionType bytes{{ValueType::i32, ValueType::i32}, {ValueType::i64}};
  EXPECT_TRUE(is_bytes_export(bytes));
  EXPECT_EQ(signature(bytes), "(i32, i32) -> (i64)");
  EXPECT_FALSE(is_bytes_export({{ValueType::i32}, {ValueType::i64}}));
}

}  // namespace
}  // namespace warmpool::cli
