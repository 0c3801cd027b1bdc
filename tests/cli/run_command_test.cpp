// `warmpool run` as a user runs it: results, output bytes, exit codes, messages.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli_paths.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {
namespace {

ProcessResult warmpool(std::vector<std::string> args, const std::string& stdin_data = "") {
  args.insert(args.begin(), warmpool_bin());
  return run_process(args, stdin_data);
}

TEST(RunCommand, NumericExportPrintsResult) {
  auto r = warmpool({"run", plugin("fib.wasm"), "fib", "25"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "75025\n");
  EXPECT_EQ(r.err, "");
}

TEST(RunCommand, BytesExportFromStdin) {
  for (std::vector<std::string> flag :
       {std::vector<std::string>{"--stdin"}, std::vector<std::string>{"--input-file", "-"}}) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flag.begin(), flag.end());
    args.insert(args.end(), {plugin("upper.wasm"), "upper"});
    auto r = warmpool(args, "hello, wasm\n");
    EXPECT_EQ(r.exit_code, 0) << flag[0] << ": " << r.err;
    EXPECT_EQ(r.out, "HELLO, WASM\n") << flag[0];
  }
}

// --input takes the data itself, as `warmpool call` and `extism call` do.
TEST(RunCommand, InputIsTheDataAsInCall) {
  auto r = warmpool({"run", "--input", "hello, wasm", plugin("upper.wasm"), "upper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO, WASM");

  auto both = warmpool({"run", "--input", "a", "--stdin", plugin("upper.wasm"), "upper"});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_NE(both.err.find("--stdin"), std::string::npos) << both.err;

  auto help = warmpool({"run", "--help"});
  EXPECT_NE(help.out.find("--input-file"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Before, run's\n--input took a FILE"), std::string::npos) << help.out;
}

TEST(RunCommand, BytesExportFromFileMatchesGolden) {
  auto r = warmpool(
      {"run", "--input-file", testdata("markdown/lists.md"), plugin("markdown.wasm"), "render"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream golden(testdata("markdown/lists.html"), std::ios::binary);
  std::string expected{std::istreambuf_iterator<char>(golden), {}};
  EXPECT_EQ(r.out, expected);
}

TEST(RunCommand, PluginStdoutIsPassedThrough) {
  auto r = warmpool({"run", "--stdin", plugin("hello.wasm"), "hello"}, "warmpool");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, warmpool!\nHello, warmpool!");
}

TEST(RunCommand, TrapIsAPluginFailure) {
  auto r = warmpool({"run", plugin("trap.wasm"), "trap"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("warmpool run: trap: ")) << r.err;
  EXPECT_NE(r.err.find("trap.wasm"), std::string::npos) << r.err;
  EXPECT_EQ(std::ranges::count(r.err, '\n'), 1) << "one line: " << r.err;
}

TEST(RunCommand, SpinStopsOnFuelAndDeadline) {
  auto fuel = warmpool({"run", "--fuel", "100000", plugin("spin.wasm"), "spin"});
  EXPECT_EQ(fuel.exit_code, 1);
  EXPECT_NE(fuel.err.find("fuel"), std::string::npos) << fuel.err;
  EXPECT_NE(fuel.err.find("100000"), std::string::npos) << fuel.err;

  auto deadline = warmpool({"run", "--timeout-ms", "100", plugin("spin.wasm"), "spin"});
  EXPECT_EQ(deadline.exit_code, 1);
  EXPECT_NE(deadline.err.find("deadline"), std::string::npos) << deadline.err;
  EXPECT_NE(deadline.err.find("100 ms"), std::string::npos) << deadline.err;
}

TEST(RunCommand, MemoryCapStopsGrow) {
  auto r = warmpool({"run", "--max-memory-pages", "40", plugin("grow.wasm"), "grow"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "40\n");  // grow reports the pages it reached
}

TEST(RunCommand, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"run"}, "expected PLUGIN and EXPORT"},
      {{"run", plugin("fib.wasm")}, "expected PLUGIN and EXPORT"},
      {{"run", "--fuel", "lots", plugin("fib.wasm"), "fib", "1"}, "--fuel: expected an integer"},
      {{"run", "--engine", "jvm", plugin("fib.wasm"), "fib", "1"}, "--engine"},
      {{"run", "--bogus", plugin("fib.wasm"), "fib", "1"}, "unknown option '--bogus'"},
      {{"run", plugin("fib.wasm"), "fob", "1"}, "export 'fob' not found (exports: "},
      {{"run", plugin("fib.wasm"), "fib"}, "takes 1 argument(s), got 0"},
      {{"run", plugin("fib.wasm"), "fib", "x"}, "expected i32, got 'x'"},
      {{"run", "--stdin", plugin("fib.wasm"), "fib"}, "not the bytes type"},
      {{"bogus"}, "unknown command 'bogus'"},
  };
  for (const auto& c : cases) {
    auto r = warmpool(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "want: " << c.message << "\ngot: " << r.err;
  }
}

TEST(RunCommand, UnreadableOrInvalidPluginExitsTwoNamingTheFile) {
  auto missing = warmpool({"run", "/nonexistent/dir/x.wasm", "f"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/dir/x.wasm"), std::string::npos) << missing.err;

  auto path = std::filesystem::temp_directory_path() / "warmpool-run-test-garbage.wasm";
  std::ofstream(path, std::ios::binary) << std::string("\0asm\x01\0\0\0\xff\xff\xff", 11);
  auto garbage = warmpool({"run", path.string(), "f"});
  EXPECT_EQ(garbage.exit_code, 2);
  EXPECT_NE(garbage.err.find("warmpool-run-test-garbage.wasm"), std::string::npos) << garbage.err;
  std::filesystem::remove(path);

  auto input =
      warmpool({"run", "--input-file", "/nonexistent/in.txt", plugin("echo.wasm"), "echo"});
  EXPECT_EQ(input.exit_code, 2);
  EXPECT_NE(input.err.find("cannot read '/nonexistent/in.txt'"), std::string::npos) << input.err;
}

TEST(RunCommand, HelpHasExamplesAndExitCodes) {
  for (const char* cmd : {"run", "bench", "serve"}) {
    auto r = warmpool({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage: warmpool " + std::string(cmd)), std::string::npos) << cmd;
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << cmd;
    EXPECT_NE(r.out.find("Exit codes:"), std::string::npos) << cmd;
  }
  auto top = warmpool({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("bench"), std::string::npos);
}

TEST(RunCommand, NegativeNumbersDoubleDashAndInlineValues) {
  auto negative = warmpool({"run", plugin("fib.wasm"), "fib", "-5"});
  EXPECT_EQ(negative.exit_code, 0) << negative.err;
  EXPECT_EQ(negative.out, "-5\n");

  auto inline_value = warmpool({"run", "--fuel=100000000", plugin("fib.wasm"), "fib", "10"});
  EXPECT_EQ(inline_value.exit_code, 0) << inline_value.err;
  EXPECT_EQ(inline_value.out, "55\n");

  auto after_double_dash = warmpool({"run", "--", plugin("fib.wasm"), "fib", "-3"});
  EXPECT_EQ(after_double_dash.exit_code, 0) << after_double_dash.err;
  EXPECT_EQ(after_double_dash.out, "-3\n");
}

TEST(RunCommand, FlagErrorsNameTheFlagAndTheValue) {
  auto bad = warmpool({"run", "--timeout-ms=soon", plugin("fib.wasm"), "fib", "1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("warmpool run: --timeout-ms: expected an integer from 0 to 86400000, "
                         "got 'soon'\n"),
            std::string::npos)
      << bad.err;

  auto missing = warmpool({"run", plugin("fib.wasm"), "fib", "1", "--fuel"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("warmpool run: --fuel: needs a value"), std::string::npos)
      << missing.err;

  auto twice = warmpool({"run", "--fuel", "1", "--fuel", "2", plugin("fib.wasm"), "fib", "1"});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("option '--fuel' given twice"), std::string::npos) << twice.err;
}

TEST(RunCommand, DirectoriesAsFilesExitTwoBeforeLoading) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  auto input = warmpool({"run", "--input-file", dir, plugin("echo.wasm"), "echo"});
  EXPECT_EQ(input.exit_code, 2) << input.err;
  EXPECT_NE(input.err.find("warmpool run: --input-file: cannot read '" + dir + "': is a directory"),
            std::string::npos)
      << input.err;

  auto plugin_dir = warmpool({"run", dir, "f"});
  EXPECT_EQ(plugin_dir.exit_code, 2) << plugin_dir.err;
  EXPECT_NE(plugin_dir.err.find("warmpool run: PLUGIN: cannot read '" + dir + "': is a directory"),
            std::string::npos)
      << plugin_dir.err;
}

TEST(RunCommand, MemoryIsCappedAt4096PagesByDefault) {
  auto r = warmpool({"run", plugin("grow.wasm"), "grow"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "4096\n");  // 256 MiB, not the module's own 65536 pages
}

TEST(RunCommand, HelpListsEveryFlagWithItsDefault) {
  const std::vector<std::string> engine = {"--engine", "--fuel", "--timeout-ms",
                                           "--max-memory-pages", "default 4096 = 256 MiB"};
  const std::vector<std::string> pool = {"--max", "--warm", "--policy", "--acquire-timeout-ms"};
  struct Case {
    std::string command;
    std::vector<std::string> texts;
  };
  const std::vector<Case> cases = {
      {"run", {"--input", "--input-file", "--stdin", "(0..86400000; default 0 = none)"}},
      {"bench",
       {"--export", "--input", "--threads", "--duration", "--calls", "--rate", "--json", "--report",
        "(0..86400000; default 0 = none)", "(1..256, default 2)"}},
      {"serve",
       {"--listen", "--threads", "--io-threads", "--max-connections", "--queue",
        "--header-timeout-ms", "--idle-timeout-ms", "--drain-timeout-ms", "--max-body", "--no-pool",
        "(0..86400000; default 10000; 0 = none)", "(1..64, default 1)", "open-file limit minus 64",
        "(0..100000, default 256)", "(0..3600000; default 1000)"}},
  };
  for (const auto& c : cases) {
    auto r = warmpool({c.command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << c.command;
    EXPECT_EQ(r.err, "") << c.command;
    auto expected = c.texts;
    expected.insert(expected.end(), engine.begin(), engine.end());
    if (c.command != "run") expected.insert(expected.end(), pool.begin(), pool.end());
    for (const auto& text : expected) {
      EXPECT_NE(r.out.find(text), std::string::npos) << c.command << " --help lacks " << text;
    }
    EXPECT_EQ(r.out.find("build/plugins/"), std::string::npos) << "stale example path";
    EXPECT_NE(r.out.find("130, 143"), std::string::npos) << c.command;
  }
  auto top = warmpool({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_EQ(top.out.find("build/plugins/"), std::string::npos) << top.out;
}

// A call with no deadline, stopped from outside: the process ends at once
// with 128 + the signal number and says what it was doing.
void expect_interrupted(std::vector<std::string> args, int sig, int exit_code,
                        const std::string& message) {
  args.insert(args.begin(), warmpool_bin());
  ChildProcess child(args);
  // The signals are blocked within milliseconds of start; this leaves time
  // for a slow (sanitized, loaded) start and for the call to begin.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  child.signal(sig);
  auto code = child.wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "did not exit in time: " << child.stderr_text();
  EXPECT_EQ(*code, exit_code) << child.stderr_text();
  EXPECT_NE(child.stderr_text().find(message), std::string::npos) << child.stderr_text();
}

TEST(RunCommand, CtrlCStopsASpinningCall) {
  expect_interrupted({"run", "--timeout-ms", "0", plugin("spin.wasm"), "spin"}, SIGINT, 130,
                     "warmpool run: interrupted by SIGINT while calling 'spin' in spin.wasm\n");
}

TEST(RunCommand, SigtermStopsASpinningBench) {
  expect_interrupted({"bench", plugin("spin.wasm"), "--export", "spin_bytes", "--calls", "1"},
                     SIGTERM, 143,
                     "warmpool bench: interrupted by SIGTERM while benchmarking 'spin_bytes' in "
                     "spin.wasm\n");
}

}  // namespace
}  // namespace warmpool::cli::test
