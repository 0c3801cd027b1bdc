// `warmpool serve`'s command line: what it refuses before it compiles,
// warms or listens (serving itself is tested in serve_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_paths.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {
namespace {

ProcessResult serve(std::vector<std::string> args) {
  args.insert(args.begin(), {warmpool_bin(), "serve"});
  return run_process(args);
}

TEST(ServeCommandLine, UsageErrorsExitTwoNamingTheFlags) {
  const std::string echo = plugin("echo.wasm");
  const std::string dir = std::filesystem::temp_directory_path().string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{echo, "--listen", "127.0.0.1:0", "--no-pool", "--policy", "fresh"},
       "warmpool serve: --no-pool and --policy exclude each other"},
      {{echo, "--listen", "127.0.0.1:0", "--max=4", "--no-pool"},
       "warmpool serve: --no-pool and --max exclude each other"},
      {{echo, "--listen", "127.0.0.1:0", "--no-pool", "--warm", "0"},
       "warmpool serve: --no-pool and --warm exclude each other"},
      {{echo, "--listen", "127.0.0.1:0", "--warm", "5", "--max", "2"},
       "warmpool serve: --warm 5 is more than --max 2"},
      {{echo}, "warmpool serve: --listen is required"},
      {{"--listen", "127.0.0.1:0"}, "warmpool serve: expected PLUGIN"},
      {{echo, echo, "--listen", "127.0.0.1:0"}, "unexpected argument '" + echo + "'"},
      {{echo, "--listen", "::1:8080"},
       "warmpool serve: --listen: an IPv6 address needs brackets: '[::1]:8080'"},
      {{echo, "--listen", "localhost:99999"}, "--listen: port must be 0..65535"},
      {{echo, "--listen", "127.0.0.1:0", "--io-threads", "0"},
       "--io-threads: expected an integer from 1 to 64, got '0'"},
      {{echo, "--listen", "127.0.0.1:0", "--queue", "100001"},
       "--queue: expected an integer from 0 to 100000, got '100001'"},
      {{echo, "--listen", "127.0.0.1:0", "--max-connections", "0"},
       "--max-connections: expected an integer from 1 to 1000000, got '0'"},
      {{echo, "--listen", "127.0.0.1:0", "--header-timeout-ms", "0"},
       "--header-timeout-ms: expected an integer from 1 to 3600000, got '0'"},
      {{echo, "--listen", "127.0.0.1:0", "--idle-timeout-ms", "x"},
       "--idle-timeout-ms: expected an integer from 1 to 3600000, got 'x'"},
      {{echo, "--listen", "127.0.0.1:0", "--drain-timeout-ms", "3600001"},
       "--drain-timeout-ms: expected an integer from 0 to 3600000, got '3600001'"},
      {{dir, "--listen", "127.0.0.1:0"},
       "warmpool serve: PLUGIN: cannot read '" + dir + "': is a directory"},
  };
  for (const auto& c : cases) {
    auto r = serve(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "want: " << c.message << "\ngot: " << r.err;
    EXPECT_EQ(r.out, "") << c.message;
  }
}

}  // namespace
}  // namespace warmpool::cli::test
