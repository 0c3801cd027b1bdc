// The CLI11 layer every subcommand parses with: positionals that look like
// negative numbers, '--', '--flag=value', help on stdout with exit 0, and
// usage errors (exit 2) that name the flag and the bad value.
#include "options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exit_code.hpp"

namespace warmpool::cli {
namespace {

// A command shaped like `run`: a few typed flags and open-ended positionals.
struct Command {
  CLI::App app;
  std::uint64_t threads = 2;
  double rate = 0;
  std::string policy = "reuse";
  std::string input;
  bool json = false;
  std::vector<std::string> positionals;

  Command() {
    configure_command(app, {.usage = "warmpool test [options] ARGS...",
                            .description = "A command for tests.\n",
                            .footer = "Examples:\n  warmpool test --threads 4 a b\n"});
    app.add_option("--threads", threads, "callers (1..64, default 2)")
        ->type_name("N")
        ->check(integer_in(1, 64));
    app.add_option("--rate", rate, "calls/s (0.001..10000000)")
        ->type_name("R")
        ->check(number_in(0.001, 1e7));
    app.add_option("--policy", policy, "reuse, reset or fresh (default reuse)")
        ->type_name("P")
        ->check(one_of({"reuse", "reset", "fresh"}));
    app.add_option("--input", input, "input file")->type_name("FILE");
    app.add_flag("--json", json, "print JSON");
    app.add_option("ARGS", positionals, "the rest")->type_name("");
  }

  // The exit code parse_command asks for (-1: carry on) and what it printed.
  struct Outcome {
    int exit_code;
    std::string out;
    std::string err;
  };
  Outcome parse(const std::vector<std::string>& args) {
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    auto exit_code = parse_command(app, "test", args);
    std::string out = testing::internal::GetCapturedStdout();
    std::string err = testing::internal::GetCapturedStderr();
    return {exit_code.value_or(-1), out, err};
  }
};

TEST(Options, ValuesFlagsAndPositionals) {
  Command c;
  auto r = c.parse({"plugin.wasm", "--threads", "4", "--json", "--input=-", "add", "-5", "-1.5",
                    "-.5", "--rate=1e3"});
  ASSERT_EQ(r.exit_code, -1) << r.err;
  EXPECT_EQ(c.threads, 4u);
  EXPECT_DOUBLE_EQ(c.rate, 1000.0);
  EXPECT_EQ(c.input, "-");
  EXPECT_TRUE(c.json);
  EXPECT_EQ(c.positionals, (std::vector<std::string>{"plugin.wasm", "add", "-5", "-1.5", "-0.5"}));
  EXPECT_TRUE(given(c.app, "--threads"));
  EXPECT_FALSE(given(c.app, "--policy"));
}

TEST(Options, ARepeatableOptionTakesOneValuePerOccurrence) {
  Command c;
  std::vector<std::string> hosts;
  add_repeatable(c.app, "--allow-host", hosts, "a host (repeatable)");
  auto r = c.parse({"--allow-host", "a.example", "plugin.wasm", "--allow-host=b.example", "run",
                    "--threads", "3", "--allow-host", "c.example", "-5"});
  ASSERT_EQ(r.exit_code, -1) << r.err;
  EXPECT_EQ(hosts, (std::vector<std::string>{"a.example", "b.example", "c.example"}));
  EXPECT_EQ(c.positionals, (std::vector<std::string>{"plugin.wasm", "run", "-5"}));
  EXPECT_EQ(c.threads, 3u);
}

TEST(Options, ARepeatableOptionStillNeedsItsValue) {
  Command c;
  std::vector<std::string> hosts;
  add_repeatable(c.app, "--allow-host", hosts, "a host (repeatable)");
  auto r = c.parse({"plugin.wasm", "--allow-host"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_NE(r.err.find("--allow-host: needs a value"), std::string::npos) << r.err;
}

TEST(Options, AFlagGivenTwiceIsStillAnError) {
  Command c;
  std::vector<std::string> hosts;
  add_repeatable(c.app, "--allow-host", hosts, "a host (repeatable)");
  auto r = c.parse({"--allow-host", "a", "--allow-host", "b", "--threads", "2", "--threads", "3"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_NE(r.err.find("option '--threads' given twice"), std::string::npos) << r.err;
}

TEST(Options, AFlagValueThatLooksLikeANumberStaysAsGiven) {
  Command c;
  auto r = c.parse({"--input", "-.5", "--json", "-.25"});
  ASSERT_EQ(r.exit_code, -1) << r.err;
  EXPECT_EQ(c.input, "-.5");
  EXPECT_EQ(c.positionals, (std::vector<std::string>{"-0.25"}));
}

TEST(Options, DoubleDashEndsOptions) {
  Command c;
  auto r = c.parse({"--json", "--", "--threads", "x", "-.5"});
  ASSERT_EQ(r.exit_code, -1) << r.err;
  EXPECT_EQ(c.positionals, (std::vector<std::string>{"--threads", "x", "-.5"}));
  EXPECT_EQ(c.threads, 2u);
}

TEST(Options, HelpGoesToStdoutWithExitZero) {
  for (const char* help : {"--help", "-h"}) {
    Command c;
    auto r = c.parse({"a", help});
    EXPECT_EQ(r.exit_code, kExitOk);
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(
        r.out.starts_with("Usage: warmpool test [options] ARGS...\n\nA command for tests.\n"))
        << r.out;
    for (const char* text : {"--threads N", "callers (1..64, default 2)", "--rate R", "--policy P",
                             "--input FILE", "--json", "-h,--help", "show this help", "ARGS",
                             "Examples:\n  warmpool test --threads 4 a b\n"}) {
      EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
    }
  }
}

TEST(Options, ErrorsNameTheFlagAndTheValue) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--threads", "x"}, "--threads: expected an integer from 1 to 64, got 'x'"},
      {{"--threads=0"}, "--threads: expected an integer from 1 to 64, got '0'"},
      {{"--threads", "-1"}, "--threads: expected an integer from 1 to 64, got '-1'"},
      {{"--threads", "99999999999999999999999"}, "--threads: expected an integer from 1 to 64"},
      {{"--threads", "4x"}, "--threads: expected an integer from 1 to 64, got '4x'"},
      {{"--rate", "nan"}, "--rate: expected a number from 0.001 to 10000000, got 'nan'"},
      {{"--policy", "recycle"}, "--policy: expected one of reuse, reset, fresh, got 'recycle'"},
      {{"--thread", "4"}, "unknown option '--thread'"},
      {{"-x"}, "unknown option '-x'"},
      {{"--threads"}, "--threads: needs a value"},
      {{"--json", "--json"}, "option '--json' given twice"},
      {{"--json=yes"}, "option '--json' takes no value"},
      {{"--json=false"}, "option '--json' takes no value"},
      {{"--threads", "2", "--threads=3"}, "option '--threads' given twice"},
  };
  for (const auto& c : cases) {
    Command command;
    auto r = command.parse(c.args);
    EXPECT_EQ(r.exit_code, kExitUsage) << c.message;
    EXPECT_TRUE(r.err.starts_with("warmpool test: ")) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "want: " << c.message << "\ngot: " << r.err;
    EXPECT_NE(r.err.find("Try 'warmpool test --help'."), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(Options, FlagsThatExcludeEachOther) {
  Command c;
  ASSERT_EQ(c.parse({"--json", "--rate", "5"}).exit_code, -1);
  auto conflict = excluding_each_other(c.app, "--json", {"--policy", "--rate"});
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->message, "--json and --rate exclude each other");
  EXPECT_FALSE(excluding_each_other(c.app, "--policy", {"--json"}).has_value());
  EXPECT_FALSE(excluding_each_other(c.app, "--json", {"--threads"}).has_value());
}

TEST(Options, ParseInteger) {
  EXPECT_EQ(parse_integer("65535", 0, 65535), 65535u);
  EXPECT_EQ(parse_integer("0", 0, 1), 0u);
  EXPECT_EQ(parse_integer("65536", 0, 65535).error(),
            "expected an integer from 0 to 65535, got '65536'");
  for (const char* bad : {"", "+1", " 1", "1 ", "0x10", "1.0"}) {
    EXPECT_FALSE(parse_integer(bad, 0, 100).has_value()) << bad;
  }
}

}  // namespace
}  // namespace warmpool::cli
