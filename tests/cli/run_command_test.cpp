// `warmpool run` as a user runs it: results, output bytes, exit codes, messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

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
  auto r = warmpool({"run", "--input", "-", plugin("upper.wasm"), "upper"}, "hello, wasm\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO, WASM\n");
}

TEST(RunCommand, BytesExportFromFileMatchesGolden) {
  auto r = warmpool(
      {"run", "--input", testdata("markdown/lists.md"), plugin("markdown.wasm"), "render"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream golden(testdata("markdown/lists.html"), std::ios::binary);
  std::string expected{std::istreambuf_iterator<char>(golden), {}};
  EXPECT_EQ(r.out, expected);
}

TEST(RunCommand, PluginStdoutIsPassedThrough) {
  auto r = warmpool({"run", "--input", "-", plugin("hello.wasm"), "hello"}, "warmpool");
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
      {{"run", "--input", "-", plugin("fib.wasm"), "fib"}, "not the bytes type"},
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

  auto input = warmpool({"run", "--input", "/nonexistent/in.txt", plugin("echo.wasm"), "echo"});
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

}  // namespace
}  // namespace warmpool::cli::test
