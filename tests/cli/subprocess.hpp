// Test helper: runs the `warmpool` binary (or any program) as a child
// process with captured stdout/stderr and a hard time limit, so a hung
// child fails the test instead of hanging the suite.
//
//   auto r = run_process({WARMPOOL_BIN, "run", "fib.wasm", "fib", "10"});
//   EXPECT_EQ(r.exit_code, 0);
//   EXPECT_EQ(r.out, "55\n");
//
//   ChildProcess server({WARMPOOL_BIN, "serve", ...});
//   std::string first_line = server.read_stdout_line(std::chrono::seconds(10));
//   server.signal(SIGTERM);
//   auto exit_code = server.wait(std::chrono::seconds(10));
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace warmpool::cli::test {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the time limit
  std::string out;
  std::string err;
  bool timed_out = false;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                          std::chrono::milliseconds limit = std::chrono::seconds(60));

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // kills the child if it is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of the child's stdout (without '\n'); nullopt on EOF or timeout.
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds limit);
  void signal(int sig);
  // Exit code, or nullopt if it did not exit in time (or died by a signal).
  std::optional<int> wait(std::chrono::milliseconds limit);
  // Everything the child wrote to stderr so far (drained while waiting).
  const std::string& stderr_text() const { return err_; }

 private:
  void pump(std::chrono::milliseconds limit);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace warmpool::cli::test
