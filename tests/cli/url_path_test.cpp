#include "url_path.hpp"

#include <gtest/gtest.h>

namespace warmpool::cli {
namespace {

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("%65cho"), "echo");
  EXPECT_EQ(percent_decode("a%2fb%2Fc"), "a/b/c");
  EXPECT_EQ(percent_decode("my%20export%3F"), "my export?");
  EXPECT_EQ(percent_decode("%C3%A9t%c3%a9"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(percent_decode("%25"), "%");
  EXPECT_EQ(percent_decode("%2541"), "%41");  // decoded once, not twice
}

TEST(PercentDecode, LeavesUnescapedTextAlone) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("render"), "render");
  EXPECT_EQ(percent_decode("a+b"), "a+b");  // '+' is form encoding, not path encoding
}

TEST(PercentDecode, MalformedEscapesNameTheEscapeAndOffset) {
  auto bad = percent_decode("ec%G1o");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("malformed percent-escape '%G1' at offset 2"), std::string::npos)
      << bad.error();
  EXPECT_FALSE(percent_decode("%1G").has_value());
  EXPECT_FALSE(percent_decode("%%41").has_value());
  EXPECT_FALSE(percent_decode("%-1").has_value());
}

TEST(PercentDecode, TruncatedEscapesAreErrors) {
  for (const char* text : {"echo%", "echo%4", "%", "%a"}) {
    auto bad = percent_decode(text);
    ASSERT_FALSE(bad.has_value()) << text;
    EXPECT_NE(bad.error().find("truncated percent-escape"), std::string::npos) << bad.error();
  }
  EXPECT_NE(percent_decode("echo%4").error().find("'%4' at offset 4"), std::string::npos);
}

TEST(PercentDecode, RejectsNul) {
  auto nul = percent_decode("echo%00");
  ASSERT_FALSE(nul.has_value());
  EXPECT_NE(nul.error().find("NUL"), std::string::npos) << nul.error();
}

}  // namespace
}  // namespace warmpool::cli
