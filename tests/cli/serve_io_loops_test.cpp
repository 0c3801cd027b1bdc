// `warmpool serve --io-threads N`: each I/O thread runs its own event loop
// and keeps the connections the acceptor gives it. These tests check that
// connections are spread evenly, that every loop keeps HTTP's ordering
// (pipelining), and that the limits and the drain hold across loops.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli_paths.hpp"
#include "http_client.hpp"
#include "metrics_probe.hpp"
#include "serve_process.hpp"

namespace warmpool::cli::test {
namespace {

using namespace std::chrono_literals;

// /metrics fetched over `client`'s own connection, so that asking does not
// open one more connection than the test holds.
std::string metrics_over(HttpClient& client) {
  auto r = client.request("GET", "/metrics");
  return r && r->status == 200 ? r->body : std::string();
}

bool metric_reaches(HttpClient& client, const std::string& series, double value) {
  for (auto until = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
    if (metric(metrics_over(client), series) == value) return true;
  }
  return false;
}

std::string loop_gauge(int loop) {
  return "warmpool_http_loop_connections_open{loop=\"" + std::to_string(loop) + "\"}";
}

// Connections opened one after another land on the least loaded loop, so
// eight over four loops are two each; then all eight call at once, and
// every answer is the one its own request asked for.
TEST(ServeIoLoops, ConnectionsAreSpreadEvenlyAndEveryLoopAnswersItsOwn) {
  constexpr int kLoops = 4, kClients = 8, kCallsEach = 40;
  ServeProcess server(
      {plugin("echo.wasm"), "--threads", "2", "--io-threads", std::to_string(kLoops)});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<HttpClient>(server.port()));
    ASSERT_TRUE(clients.back()->connect());
  }
  ASSERT_TRUE(metric_reaches(*clients.front(), "warmpool_http_connections_open", kClients))
      << metrics_over(*clients.front());
  const std::string metrics = metrics_over(*clients.front());
  for (int loop = 0; loop < kLoops; ++loop) {
    EXPECT_EQ(metric(metrics, loop_gauge(loop)), kClients / kLoops) << metrics;
  }
  EXPECT_EQ(metric(metrics, loop_gauge(kLoops)), -1) << "one loop per I/O thread";

  std::vector<std::string> failures(kClients);
  {
    std::vector<std::jthread> callers;
    for (int c = 0; c < kClients; ++c) {
      callers.emplace_back([&, c] {
        for (int i = 0; i < kCallsEach && failures[c].empty(); ++i) {
          const std::string body = "client " + std::to_string(c) + " call " + std::to_string(i);
          auto r = clients[static_cast<std::size_t>(c)]->request("POST", "/call/echo", body);
          if (!r)
            failures[c] = r.error();
          else if (r->status != 200 || r->body != body)
            failures[c] = std::to_string(r->status) + " '" + r->body + "' for '" + body + "'";
        }
      });
    }
  }
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(metric(metrics_over(*clients.front()), "warmpool_http_connections_accepted_total"),
            kClients)
      << "a keep-alive client reconnected";
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(20s), 0) << server.child().stderr_text();
}

// Three requests sent in one write, on a connection of every loop: the
// answers come back in request order, the plugin call's included.
TEST(ServeIoLoops, PipelinedRequestsAreAnsweredInOrderOnEveryLoop) {
  constexpr int kLoops = 3;
  ServeProcess server(
      {plugin("echo.wasm"), "--threads", "2", "--io-threads", std::to_string(kLoops)});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::string pipelined =
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird";
  std::vector<int> connections;
  for (int i = 0; i < kLoops; ++i) {
    const int fd = connect_raw(server.port());
    ASSERT_GE(fd, 0);
    connections.push_back(fd);
  }
  for (int fd : connections) {
    ASSERT_EQ(::send(fd, pipelined.data(), pipelined.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(pipelined.size()));
  }
  for (int fd : connections) {
    const std::string replies = read_until_closed(fd, 20s);
    ::close(fd);
    const auto first = replies.find("\r\n\r\nfirst");
    const auto ok = replies.find("\r\n\r\nok\n");
    const auto third = replies.find("\r\n\r\nthird");
    ASSERT_NE(third, std::string::npos) << replies;
    EXPECT_LT(first, ok) << replies;
    EXPECT_LT(ok, third) << replies;
  }
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(20s), 0) << server.child().stderr_text();
}

// --max-connections caps the server, not each loop: with the cap held
// across four loops, every further connection is closed at once.
TEST(ServeIoLoops, TheConnectionCapCountsEveryLoop) {
  constexpr int kCap = 6, kOver = 5;
  ServeProcess server({plugin("echo.wasm"), "--threads", "2", "--io-threads", "4",
                       "--max-connections", std::to_string(kCap)});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < kCap; ++i) {
    held.push_back(std::make_unique<HttpClient>(server.port()));
    auto r = held.back()->request("GET", "/healthz");
    ASSERT_TRUE(r) << r.error();
  }
  for (int i = 0; i < kOver; ++i) {
    const int fd = connect_raw(server.port());
    ASSERT_GE(fd, 0);
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    EXPECT_EQ(read_until_closed(fd, 20s), "") << "connection " << kCap + i << " was served";
    ::close(fd);
  }
  const std::string metrics = metrics_over(*held.front());
  EXPECT_EQ(metric(metrics, "warmpool_http_connections_over_cap_total"), kOver) << metrics;
  EXPECT_EQ(metric(metrics, "warmpool_http_connections_open"), kCap) << metrics;
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(20s), 0) << server.child().stderr_text();
}

// A plugin call spinning on a connection of every loop leaves each loop
// free to answer /healthz; SIGTERM then drains all of them: the calls are
// interrupted at the drain timeout, answered, and the exit is clean.
TEST(ServeIoLoops, SpinningCallsOnEveryLoopStillLetEachAnswerAndDrain) {
  constexpr int kLoops = 3;
  ServeProcess server({plugin("spin.wasm"), "--threads", std::to_string(kLoops), "--io-threads",
                       std::to_string(kLoops), "--drain-timeout-ms", "300"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  std::vector<std::expected<HttpReply, std::string>> replies(kLoops, std::unexpected("not run"));
  {
    std::vector<std::jthread> spinners;
    for (int i = 0; i < kLoops; ++i) {
      spinners.emplace_back([port, &reply = replies[static_cast<std::size_t>(i)]] {
        HttpClient c(port, 60s);
        reply = c.request("POST", "/call/spin_bytes", "x");
      });
    }
    ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"spin\"}", kLoops, 20s))
        << server.child().stderr_text();
    // Held together, these land one on each loop.
    std::vector<std::unique_ptr<HttpClient>> checkers;
    for (int i = 0; i < kLoops; ++i) {
      checkers.push_back(std::make_unique<HttpClient>(port, 5s));
      ASSERT_TRUE(checkers.back()->connect());
    }
    for (auto& checker : checkers) {
      auto r = checker->request("GET", "/healthz");
      ASSERT_TRUE(r) << r.error();
      EXPECT_EQ(r->status, 200u);
    }
    server.child().signal(SIGTERM);
  }
  for (const auto& reply : replies) {
    ASSERT_TRUE(reply.has_value()) << reply.error();
    EXPECT_EQ(reply->status, 504u) << reply->body;
  }
  EXPECT_EQ(server.child().wait(30s), 0) << server.child().stderr_text();
  EXPECT_NE(server.child().stderr_text().find("warmpool serve: stopped\n"), std::string::npos)
      << server.child().stderr_text();
}

}  // namespace
}  // namespace warmpool::cli::test
