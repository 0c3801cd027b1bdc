// Test helper: `warmpool serve` on 127.0.0.1 with a free port chosen by the
// kernel (--listen 127.0.0.1:0); the port is read from the first stdout line.
//
//   ServeProcess server({plugin("echo.wasm"), "--threads", "4"});
//   ASSERT_NE(server.port(), 0) << server.child().stderr_text();
//   HttpClient c(server.port());
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "cli_paths.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {

// A plain TCP connection to 127.0.0.1:port; -1 on failure. For
// requests a well-behaved client would not send (raw bytes, half requests, idle sockets).
inline int connect_raw(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What the peer sends until `expected` bytes arrived, it closes, or `limit` passes.
inline std::string read_bytes(int fd, std::size_t expected, std::chrono::milliseconds limit) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (out.size() < expected && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Everything the peer sends until it closes or `limit` passes.
inline std::string read_until_closed(int fd, std::chrono::milliseconds limit) {
  return read_bytes(fd, std::numeric_limits<std::size_t>::max(), limit);
}

// The port a `serve --listen 127.0.0.1:0` child reports on its first stdout
// line; 0 if it never does.
inline std::uint16_t listening_port(ChildProcess& child) {
  auto line = child.read_stdout_line(std::chrono::seconds(60));
  if (!line) return 0;
  const std::string marker = "listening on http://127.0.0.1:";
  const auto at = line->find(marker);
  return at == std::string::npos
             ? 0
             : static_cast<std::uint16_t>(std::stoi(line->substr(at + marker.size())));
}

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args)
      : child_(make_argv(std::move(args))), port_(listening_port(child_)) {}

  std::uint16_t port() const { return port_; }
  ChildProcess& child() { return child_; }

 private:
  static std::vector<std::string> make_argv(std::vector<std::string> args) {
    args.insert(args.begin(), {warmpool_bin(), "serve", "--listen", "127.0.0.1:0"});
    return args;
  }
  ChildProcess child_;
  std::uint16_t port_;
};

}  // namespace warmpool::cli::test
