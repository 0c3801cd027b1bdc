#include "json_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace warmpool::cli {
namespace {

TEST(JsonWriter, NestedContainersAndCommas) {
  JsonWriter j;
  j.begin_object();
  j.key("a").integer(1);
  j.key("b").begin_array().number(1.5).boolean(true).null().string("x").end_array();
  j.key("c").begin_object().end_object();
  j.key("d").number(std::nan(""));
  j.end_object();
  EXPECT_EQ(j.str(), R"({"a":1,"b":[1.5,true,null,"x"],"c":{},"d":null})");
}

TEST(JsonWriter, EscapesStrings) {
  EXPECT_EQ(json_quote("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
  EXPECT_EQ(json_quote("µs"), "\"µs\"");
}

}  // namespace
}  // namespace warmpool::cli
