// `warmpool serve` against what a hostile or careless client, a spinning
// plugin or a tight descriptor limit does to it. Every test talks to
// 127.0.0.1 only, with bounded counts; time bounds are liveness guards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "cli_paths.hpp"
#include "http_client.hpp"
#include "metrics_probe.hpp"
#include "serve_process.hpp"

namespace warmpool::cli::test {
namespace {

using namespace std::chrono_literals;

bool send_text(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// True when the peer closes (or resets) the connection within `limit`.
bool closed_by_peer(int fd, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  char buf[512];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
  return false;
}

// /healthz answers 200 within `limit` (polling, new connection each time).
bool healthy_within(std::uint16_t port, std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
    HttpClient c(port, 2s);
    if (auto r = c.request("GET", "/healthz"); r && r->status == 200) return true;
  }
  return false;
}

// Sockets of this machine in CLOSE-WAIT on local port `port` (/proc/net/tcp*).
int close_wait_sockets(std::uint16_t port) {
  int count = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port && state == "08") ++count;
    }
  }
  return count;
}

// `warmpool serve` on echo.wasm with the open-file limit set to `nofile`.
std::unique_ptr<ChildProcess> serve_with_fd_limit(int nofile, std::vector<std::string> flags) {
  std::vector<std::string> argv = {
      "/usr/bin/prlimit",
      "--nofile=" + std::to_string(nofile) + ":" + std::to_string(nofile),
      warmpool_bin(),
      "serve",
      "--listen",
      "127.0.0.1:0",
      plugin("echo.wasm"),
      "--threads",
      "2"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return std::make_unique<ChildProcess>(argv);
}

// Opens `count` idle connections, holds them for `hold`, then closes them
// all; returns how many were opened.
std::size_t connection_storm(std::uint16_t port, int count, std::chrono::milliseconds hold) {
  std::vector<int> clients;
  for (int i = 0; i < count; ++i) {
    const int fd = connect_raw(port);
    if (fd >= 0) clients.push_back(fd);
  }
  std::this_thread::sleep_for(hold);
  for (int fd : clients) ::close(fd);
  return clients.size();
}

// serve under an open-file limit of 64, told it may hold 1000 connections:
// accepts fail with EMFILE. The server must shed, log, count, and recover.
TEST(ServeHardening, RecoversAfterRunningOutOfFileDescriptors) {
  auto server =
      serve_with_fd_limit(64, {"--max-connections", "1000", "--idle-timeout-ms", "60000"});
  ChildProcess& child = *server;
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  connection_storm(port, 100, 500ms);
  ASSERT_TRUE(healthy_within(port, 20s)) << child.stderr_text();
  const std::string text = metrics_of(port);
  EXPECT_GT(metric(text, "warmpool_http_accept_errors_total"), 0) << text;
  HttpClient c(port);
  auto echo = c.request("POST", "/call/echo", "after the storm");
  ASSERT_TRUE(echo.has_value()) << echo.error();
  EXPECT_EQ(echo->body, "after the storm");
  child.wait(1ms);  // drain stderr
  EXPECT_NE(child.stderr_text().find("accept failed"), std::string::npos) << child.stderr_text();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(20s), 0) << child.stderr_text();
}

// The default connection cap sits below the descriptor limit, so the same
// storm never reaches EMFILE: the excess is closed as soon as it is accepted.
TEST(ServeHardening, DefaultConnectionCapKeepsDescriptorsInReserve) {
  auto server = serve_with_fd_limit(64, {});
  ChildProcess& child = *server;
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  connection_storm(port, 100, 500ms);
  ASSERT_TRUE(healthy_within(port, 20s)) << child.stderr_text();
  const std::string text = metrics_of(port);
  EXPECT_GT(metric(text, "warmpool_http_connections_over_cap_total"), 0) << text;
  EXPECT_EQ(metric(text, "warmpool_http_accept_errors_total"), 0) << text;
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(20s), 0) << child.stderr_text();
}

// 2,000 idle connections against the common limit of 1024, then the clients
// go: no socket stays in CLOSE-WAIT and the server answers again.
TEST(ServeHardening, TwoThousandIdleConnectionsHeldThenDropped) {
  auto server = serve_with_fd_limit(1024, {"--idle-timeout-ms", "1000"});
  ChildProcess& child = *server;
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  EXPECT_GE(connection_storm(port, 2000, 300ms), 1000u);
  ASSERT_TRUE(healthy_within(port, 20s)) << child.stderr_text();
  bool no_close_wait = false;
  for (auto until = std::chrono::steady_clock::now() + 20s;
       !no_close_wait && std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(100ms)) {
    no_close_wait = close_wait_sockets(port) == 0;
  }
  EXPECT_TRUE(no_close_wait) << close_wait_sockets(port) << " sockets in CLOSE-WAIT";
  EXPECT_LE(metric(metrics_of(port), "warmpool_http_connections_open"), 2);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(20s), 0) << child.stderr_text();
}

// Slowloris (headers a byte at a time) and ordinary clients at once: the
// slow ones are cut off by the header timeout, the others all succeed.
TEST(ServeHardening, SlowlorisAndNormalLoadTogether) {
  ServeProcess server({plugin("echo.wasm"), "--threads", "2", "--header-timeout-ms", "1000"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  std::vector<int> slow;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_raw(port);
    if (fd >= 0 && send_text(fd, "POST /call/echo HTTP/1.1\r\nHost: x\r\n")) slow.push_back(fd);
  }
  ASSERT_EQ(slow.size(), 200u);
  std::atomic<bool> done{false};
  std::jthread trickle([&] {
    for (int round = 0; round < 20 && !done; ++round) {
      for (int fd : slow) send_text(fd, "X");
      std::this_thread::sleep_for(150ms);
    }
  });
  std::atomic<int> good{0}, bad{0};
  {
    std::vector<std::jthread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&, t] {
        HttpClient c(port);
        for (int i = 0; i < 100; ++i) {
          const std::string body = std::to_string(t) + ":" + std::to_string(i);
          auto r = c.request("POST", "/call/echo", body);
          (r && r->status == 200 && r->body == body ? good : bad)++;
        }
      });
    }
  }
  done = true;
  trickle.join();
  EXPECT_EQ(good.load(), 400);
  EXPECT_EQ(bad.load(), 0);
  // Every slow connection was closed by the server (the header timeout
  // closes without an answer: the request never arrived).
  int cut_off = 0;
  for (int fd : slow) {
    if (closed_by_peer(fd, 10s)) ++cut_off;
    ::close(fd);
  }
  EXPECT_EQ(cut_off, 200);
  EXPECT_GE(metric(metrics_of(port), "warmpool_http_connections_timed_out_total"), 200);
}

// RFC 9112: a transfer coding that does not end in chunked leaves the body
// length unknown; the request is refused, not read as empty.
TEST(ServeHardening, NonChunkedTransferEncodingIs400WithAJsonBody) {
  ServeProcess server({plugin("echo.wasm"), "--threads", "2", "--max-body", "64"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const int fd = connect_raw(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_text(fd,
                        "POST /call/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
                        "abc"));
  const std::string reply = read_until_closed(fd, 10s);
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
  EXPECT_NE(reply.find("application/json"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"error\":\"bad_request\""), std::string::npos) << reply;
  EXPECT_NE(reply.find("Transfer-Encoding 'gzip'"), std::string::npos) << reply;

  HttpClient c(server.port());
  auto big = c.request("POST", "/call/echo", std::string(100, 'b'));
  ASSERT_TRUE(big.has_value()) << big.error();
  EXPECT_EQ(big->status, 413u);
  EXPECT_EQ(big->headers["content-type"], "application/json");
  EXPECT_NE(big->body.find("\"error\":\"payload_too_large\""), std::string::npos) << big->body;

  const int garbage = connect_raw(server.port());
  ASSERT_TRUE(send_text(garbage, "NOT HTTP AT ALL\r\n\r\n"));
  const std::string garbage_reply = read_until_closed(garbage, 10s);
  ::close(garbage);
  EXPECT_TRUE(garbage_reply.starts_with("HTTP/1.1 400")) << garbage_reply;
  EXPECT_NE(garbage_reply.find("\"error\":\"bad_request\""), std::string::npos) << garbage_reply;
}

// Both call threads spin in a plugin with no deadline at all: /healthz and
// /metrics still answer, and SIGTERM still ends the process in bounded time.
TEST(ServeHardening, SpinningCallsStarveNeitherHealthChecksNorShutdown) {
  ServeProcess server(
      {plugin("spin.wasm"), "--threads", "2", "--timeout-ms", "0", "--drain-timeout-ms", "300"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  std::vector<std::jthread> spinners;
  for (int i = 0; i < 2; ++i) {
    spinners.emplace_back([port] {
      HttpClient c(port, 60s);
      (void)c.request("POST", "/call/spin_bytes", "x");
    });
  }
  ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"spin\"}", 2, 20s))
      << server.child().stderr_text();
  EXPECT_TRUE(healthy_within(port, 5s));
  EXPECT_NE(metrics_of(port), "");
  const auto start = std::chrono::steady_clock::now();
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(30s), 0) << server.child().stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_NE(server.child().stderr_text().find("stopped with calls still running"),
            std::string::npos)
      << server.child().stderr_text();
}

// With serve's default deadline in place, the drain interrupts spinning
// calls: their clients get an answer and the exit is clean.
TEST(ServeHardening, DrainTimeoutInterruptsCallsThatHaveADeadline) {
  ServeProcess server({plugin("spin.wasm"), "--threads", "2", "--drain-timeout-ms", "300"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  std::vector<std::expected<HttpReply, std::string>> replies(2, std::unexpected("not run"));
  {
    std::vector<std::jthread> spinners;
    for (int i = 0; i < 2; ++i) {
      spinners.emplace_back([port, &reply = replies[static_cast<std::size_t>(i)]] {
        HttpClient c(port, 60s);
        reply = c.request("POST", "/call/spin_bytes", "x");
      });
    }
    ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"spin\"}", 2, 20s))
        << server.child().stderr_text();
    server.child().signal(SIGTERM);
  }
  for (const auto& reply : replies) {
    ASSERT_TRUE(reply.has_value()) << reply.error();
    EXPECT_EQ(reply->status, 504u) << reply->body;
  }
  EXPECT_EQ(server.child().wait(30s), 0) << server.child().stderr_text();
  EXPECT_NE(server.child().stderr_text().find("interrupting"), std::string::npos);
  EXPECT_NE(server.child().stderr_text().find("warmpool serve: stopped\n"), std::string::npos);
}

// One call thread, busy: with no room to wait the next request is refused
// at once; with room, it is refused once it waited --acquire-timeout-ms.
TEST(ServeHardening, OverloadIsAnswered503QuicklyNotQueuedForSeconds) {
  for (const char* queue : {"0", "4"}) {
    ServeProcess server({plugin("hostile.wasm"), "--threads", "1", "--queue", queue, "--timeout-ms",
                         "5000", "--acquire-timeout-ms", "200", "--drain-timeout-ms", "100"});
    ASSERT_NE(server.port(), 0) << server.child().stderr_text();
    const std::uint16_t port = server.port();
    std::jthread busy([port] {
      HttpClient c(port, 60s);
      (void)c.request("POST", "/call/spin", "x");
    });
    ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"hostile\"}", 1, 20s));
    HttpClient c(port);
    const auto start = std::chrono::steady_clock::now();
    auto r = c.request("POST", "/call/echo", "x");
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(r->status, 503u) << "--queue " << queue;
    EXPECT_EQ(r->headers["retry-after"], "1");
    EXPECT_NE(r->body.find(std::string(queue) == "0" ? "--queue 0" : "--acquire-timeout-ms"),
              std::string::npos)
        << r->body;
    EXPECT_LT(waited, 4s) << "the 503 waited for the spinning call";
    if (std::string(queue) == "4") {
      EXPECT_GE(waited, 200ms);
    }
    server.child().signal(SIGTERM);
  }
}

// The address is checked before the warm-up, and names and IPv6 work.
TEST(ServeHardening, ListenAddressIsCheckedBeforeWarmUp) {
  ServeProcess first({plugin("echo.wasm"), "--threads", "1"});
  ASSERT_NE(first.port(), 0);
  const auto start = std::chrono::steady_clock::now();
  auto taken =
      run_process({warmpool_bin(), "serve", "--listen", "127.0.0.1:" + std::to_string(first.port()),
                   plugin("echo.wasm"), "--max", "4000", "--warm", "4000"});
  EXPECT_EQ(taken.exit_code, 2) << taken.err;
  EXPECT_NE(taken.err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << taken.err;
  EXPECT_EQ(taken.err.find("warming"), std::string::npos) << taken.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);

  for (const char* listen : {"localhost:0", "[::1]:0"}) {
    ChildProcess child(
        {warmpool_bin(), "serve", "--listen", listen, plugin("echo.wasm"), "--threads", "1"});
    auto line = child.read_stdout_line(60s);
    ASSERT_TRUE(line.has_value()) << listen << ": " << child.stderr_text();
    const std::string expect =
        std::string(listen) == "localhost:0" ? "http://127.0.0.1:" : "http://[::1]:";
    EXPECT_NE(line->find(expect), std::string::npos) << *line;
    child.signal(SIGTERM);
    EXPECT_EQ(child.wait(20s), 0) << child.stderr_text();
  }
}

}  // namespace
}  // namespace warmpool::cli::test
