#include "options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace warmpool::cli {
namespace {

constexpr FlagSpec kSpecs[] = {{"threads", "N"},        {"json", ""},    {"input", "FILE"},
                               {"listen", "HOST:PORT"}, {"policy", "P"}, {"rate", "R"}};

std::expected<ParsedArgs, UsageError> parse(std::vector<std::string> args) {
  return parse_args(args, kSpecs);
}

TEST(Options, ValuesBooleansAndPositionals) {
  auto p = parse({"plugin.wasm", "--threads", "4", "--json", "--input=-", "fib", "-5", "-1.5"});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->values.at("threads"), "4");
  EXPECT_EQ(p->values.at("input"), "-");
  EXPECT_TRUE(p->values.contains("json"));
  EXPECT_EQ(p->positionals, (std::vector<std::string>{"plugin.wasm", "fib", "-5", "-1.5"}));
  EXPECT_FALSE(p->help);
}

TEST(Options, DoubleDashEndsOptions) {
  auto p = parse({"--json", "--", "--threads", "x"});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->positionals, (std::vector<std::string>{"--threads", "x"}));
}

TEST(Options, HelpAnywhere) {
  auto p = parse({"a", "-h"});
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->help);
}

TEST(Options, ErrorsNameTheArgument) {
  auto unknown = parse({"--thread", "4"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message, "unknown option '--thread'");

  auto missing = parse({"--threads"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "option '--threads' needs a value (N)");

  auto twice = parse({"--json", "--json"});
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().message, "option '--json' given twice");

  auto value_on_bool = parse({"--json=yes"});
  ASSERT_FALSE(value_on_bool.has_value());
  EXPECT_EQ(value_on_bool.error().message, "option '--json' takes no value");

  auto single_dash = parse({"-x"});
  ASSERT_FALSE(single_dash.has_value());
  EXPECT_EQ(single_dash.error().message, "unknown option '-x'");
}

TEST(FlagReader, IntegersAreRangeChecked) {
  auto p = parse({"--threads", "0"});
  ASSERT_TRUE(p.has_value());
  FlagReader r(*p);
  EXPECT_EQ(r.u64("threads", 2, 1, 64), 2u);
  ASSERT_TRUE(r.error().has_value());
  EXPECT_EQ(r.error()->message, "--threads: expected an integer from 1 to 64, got '0'");

  for (const char* bad : {"abc", "4x", "-1", "", "99999999999999999999999"}) {
    auto q = parse({"--threads", bad});
    ASSERT_TRUE(q.has_value());
    FlagReader rq(*q);
    rq.u64("threads", 2, 1, 64);
    EXPECT_TRUE(rq.error().has_value()) << bad;
  }
  auto ok = parse({"--threads", "64"});
  FlagReader rok(*ok);
  EXPECT_EQ(rok.u64("threads", 2, 1, 64), 64u);
  EXPECT_EQ(rok.u64("absent", 7, 1, 64), 7u);
  EXPECT_FALSE(rok.error().has_value());
}

TEST(FlagReader, NumbersChoicesEndpoints) {
  auto p = parse({"--rate", "1e3", "--policy", "reset", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(p.has_value());
  FlagReader r(*p);
  EXPECT_DOUBLE_EQ(r.number("rate", 0, 0.001, 1e7), 1000.0);
  EXPECT_EQ(r.choice("policy", "reuse", {"reuse", "reset", "fresh"}), "reset");
  auto ep = r.endpoint("listen", "");
  ASSERT_TRUE(ep.has_value());
  EXPECT_EQ(ep->first, "127.0.0.1");
  EXPECT_EQ(ep->second, 0);
  EXPECT_FALSE(r.error().has_value());

  auto bad = parse({"--rate", "nan", "--policy", "recycle", "--listen", "localhost"});
  FlagReader rb(*bad);
  rb.number("rate", 0, 0.001, 1e7);
  EXPECT_EQ(rb.error()->message, "--rate: expected a number from 0.001 to 10000000, got 'nan'");
  FlagReader rc(*bad);
  rc.choice("policy", "reuse", {"reuse", "reset", "fresh"});
  EXPECT_EQ(rc.error()->message, "--policy: expected one of reuse, reset, fresh, got 'recycle'");
  FlagReader rd(*bad);
  EXPECT_FALSE(rd.endpoint("listen", "").has_value());
  EXPECT_EQ(rd.error()->message,
            "--listen: expected HOST:PORT (e.g. 127.0.0.1:8080), got 'localhost'");
}

TEST(FlagReader, KeepsTheFirstError) {
  ParsedArgs none;
  FlagReader r(none);
  r.fail("first");
  r.fail("second");
  EXPECT_EQ(r.error()->message, "first");
}

}  // namespace
}  // namespace warmpool::cli
