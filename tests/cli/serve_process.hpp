// Test helper: `warmpool serve` on 127.0.0.1 with a free port chosen by the
// kernel (--listen 127.0.0.1:0); the port is read from the first stdout line.
//
//   ServeProcess server({plugin("echo.wasm"), "--threads", "4"});
//   ASSERT_NE(server.port(), 0) << server.child().stderr_text();
//   HttpClient c(server.port());
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_paths.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) : child_(make_argv(std::move(args))) {
    auto line = child_.read_stdout_line(std::chrono::seconds(60));
    if (!line) return;
    const std::string marker = "listening on http://127.0.0.1:";
    auto at = line->find(marker);
    if (at != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::stoi(line->substr(at + marker.size())));
    }
  }

  std::uint16_t port() const { return port_; }
  ChildProcess& child() { return child_; }

 private:
  static std::vector<std::string> make_argv(std::vector<std::string> args) {
    args.insert(args.begin(), {warmpool_bin(), "serve", "--listen", "127.0.0.1:0"});
    return args;
  }
  ChildProcess child_;
  std::uint16_t port_ = 0;
};

}  // namespace warmpool::cli::test
