// JSON output through nlohmann-json: what bench --json and serve's error
// bodies rely on.
#include "json_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "error_status.hpp"

namespace warmpool::cli {
namespace {

TEST(JsonText, KeysKeepTheirOrderAndNestingIsCompact) {
  Json j;
  j["b"] = 1;
  j["a"] = Json::array({1.5, true, nullptr, "x"});
  j["c"] = Json::object();
  EXPECT_EQ(to_json_text(j), R"({"b":1,"a":[1.5,true,null,"x"],"c":{}})");
}

TEST(JsonText, NonFiniteNumbersAreNull) {
  Json j;
  j["nan"] = std::nan("");
  j["inf"] = std::numeric_limits<double>::infinity();
  j["minus_inf"] = -std::numeric_limits<double>::infinity();
  j["max"] = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(to_json_text(j),
            R"({"nan":null,"inf":null,"minus_inf":null,"max":18446744073709551615})");
}

TEST(JsonText, EscapesStringsAndReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(to_json_text(Json("a\"b\\c\nd\te\x01")), R"("a\"b\\c\nd\te\u0001")");
  EXPECT_EQ(to_json_text(Json("µs")), "\"µs\"");
  EXPECT_EQ(to_json_text(Json("bad \xff byte")), "\"bad \xEF\xBF\xBD byte\"");
}

TEST(JsonText, ServeErrorBody) {
  HttpResponse r = json_error(404, "not_found", "export 'x\"y' not found \xfe");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"error\":\"not_found\",\"message\":\"export 'x\\\"y' not found \xEF\xBF\xBD\"}\n");

  HttpResponse busy = error_response(wasm::WasmError(wasm::ErrorKind::resource_limit, "full"));
  EXPECT_EQ(busy.status, 503u);
  EXPECT_EQ(busy.body, "{\"error\":\"resource_limit\",\"message\":\"full\"}\n");
}

}  // namespace
}  // namespace warmpool::cli
