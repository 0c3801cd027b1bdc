// `warmpool serve --inline-calls` ([server] inline_calls): a call runs on
// the I/O loop that read it. A call stuck there past 1 ms gets the loop
// another thread, so a spinning plugin still stops neither /healthz, nor
// another plugin, nor the connections already on that loop, nor shutdown.
// Time bounds are liveness guards only.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
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

// A config serving hostile.wasm (its `spin` never returns) and echo.wasm,
// with inline calls on one I/O loop.
class ServeInlineCalls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("warmpool-inline-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string config(int spin_timeout_ms) {
    const auto file = dir_ / "warmpool.toml";
    std::ofstream(file) << "[server]\nthreads = 2\ninline_calls = true\ndrain_timeout_ms = 300\n"
                        << "[[plugin]]\nname = \"hostile\"\nsource = \"" << plugin("hostile.wasm")
                        << "\"\n[plugin.limits]\ntimeout_ms = " << spin_timeout_ms << "\n"
                        << "[[plugin]]\nname = \"echo\"\nsource = \"" << plugin("echo.wasm")
                        << "\"\n";
    return file.string();
  }

  std::filesystem::path dir_;
};

bool metric_at_least(std::uint16_t port, const std::string& series, double value) {
  for (auto until = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
    if (metric(metrics_of(port), series) >= value) return true;
  }
  return false;
}

TEST_F(ServeInlineCalls, ASpinningInlineCallStopsNeitherHealthzNorAnotherPluginNorItsLoop) {
  ServeProcess server({"--config", config(60'000)});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  // Opened before the spin, so on the loop that will be stuck (the only one).
  HttpClient held(port, 10s);
  ASSERT_TRUE(held.connect());
  std::expected<HttpReply, std::string> spun = std::unexpected("not run");
  std::jthread spinner([port, &spun] {
    HttpClient c(port, 60s);
    spun = c.request("POST", "/plugins/hostile/spin", "x");
  });
  // The first call of a plugin runs inline (no call has been long yet), and
  // the monitor hands its loop on.
  ASSERT_TRUE(metric_at_least(port, "warmpool_calls_inline_total{pool=\"hostile\"}", 1))
      << server.child().stderr_text();
  ASSERT_TRUE(metric_at_least(port, "warmpool_http_loop_handovers_total", 1)) << metrics_of(port);
  EXPECT_EQ(metric(metrics_of(port), "warmpool_call_threads_busy{pool=\"hostile\"}"), 1);
  for (int i = 0; i < 3; ++i) {
    auto health = held.request("GET", "/healthz");
    ASSERT_TRUE(health) << health.error();
    EXPECT_EQ(health->status, 200u);
    const std::string body = "call " + std::to_string(i);
    auto echoed = held.request("POST", "/plugins/echo/echo", body);
    ASSERT_TRUE(echoed) << echoed.error();
    EXPECT_EQ(echoed->status, 200u) << echoed->body;
    EXPECT_EQ(echoed->body, body);
  }
  // The spinning plugin's other place still serves its short export.
  auto echoed = HttpClient(port, 10s).request("POST", "/plugins/hostile/echo", "still here");
  ASSERT_TRUE(echoed) << echoed.error();
  EXPECT_EQ(echoed->body, "still here");
  // The drain interrupts the inline call, which answers from its own thread.
  server.child().signal(SIGTERM);
  spinner = {};
  ASSERT_TRUE(spun.has_value()) << spun.error();
  EXPECT_EQ(spun->status, 504u) << spun->body;
  EXPECT_EQ(server.child().wait(30s), 0) << server.child().stderr_text();
  EXPECT_NE(server.child().stderr_text().find("warmpool serve: stopped\n"), std::string::npos)
      << server.child().stderr_text();
}

// An inline call that no deadline can end: SIGTERM still ends the process
// in bounded time (the stuck loop thread is left behind, as call threads are).
TEST_F(ServeInlineCalls, AnInlineCallWithoutADeadlineDoesNotHoldUpShutdown) {
  ServeProcess server({"--config", config(0)});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  std::jthread spinner([port] {
    HttpClient c(port, 60s);
    (void)c.request("POST", "/plugins/hostile/spin", "x");
  });
  ASSERT_TRUE(metric_at_least(port, "warmpool_http_loop_handovers_total", 1))
      << server.child().stderr_text();
  const auto start = std::chrono::steady_clock::now();
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(30s), 0) << server.child().stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_NE(server.child().stderr_text().find("stopped with calls still running"),
            std::string::npos)
      << server.child().stderr_text();
}

// Inline calls that outlive 1 ms, over and over (each spin ends at its 5 ms
// deadline; fast calls between them bring the plugin's average back under
// the inline limit), while other clients keep using the same loop: every
// answer is right, and the loop keeps being handed from thread to thread.
TEST_F(ServeInlineCalls, StressRepeatedHandOversLoseNoAnswer) {
  ServeProcess server({"--config", config(5)});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t port = server.port();
  constexpr int kRounds = 15, kFastCalls = 60, kOtherClients = 2, kOtherCalls = 300;
  std::vector<std::string> failures(kOtherClients + 1);
  {
    std::vector<std::jthread> clients;
    clients.emplace_back([&, port] {
      HttpClient c(port, 30s);
      for (int round = 0; round < kRounds && failures[0].empty(); ++round) {
        // The first spin runs inline whatever the machine: no call was long yet.
        auto r = c.request("POST", "/plugins/hostile/spin", "x");
        if (!r || r->status != 504) failures[0] = r ? std::to_string(r->status) : r.error();
        for (int i = 0; i < kFastCalls && failures[0].empty(); ++i) {
          r = c.request("POST", "/plugins/hostile/echo", "fast");
          if (!r || r->status != 200 || r->body != "fast") {
            failures[0] = r ? std::to_string(r->status) + " " + r->body : r.error();
          }
        }
      }
    });
    for (int k = 1; k <= kOtherClients; ++k) {
      clients.emplace_back([&, port, k] {
        HttpClient c(port, 30s);
        for (int i = 0; i < kOtherCalls && failures[k].empty(); ++i) {
          const std::string body = "client " + std::to_string(k) + " call " + std::to_string(i);
          auto r = i % 3 == 0 ? c.request("GET", "/healthz")
                              : c.request("POST", "/plugins/echo/echo", body);
          const std::string expected = i % 3 == 0 ? "ok\n" : body;
          if (!r || r->status != 200 || r->body != expected) {
            failures[k] = r ? std::to_string(r->status) + " '" + r->body + "'" : r.error();
          }
        }
      });
    }
  }
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  const std::string metrics = metrics_of(port);
  EXPECT_GE(metric(metrics, "warmpool_http_loop_handovers_total"), 1) << metrics;
  EXPECT_EQ(metric(metrics, "warmpool_call_threads_busy{pool=\"hostile\"}"), 0) << metrics;
  // How many spins ran inline depends on how fast the fast calls are (under
  // a sanitizer they may never average under the limit again).
  std::cout << "hand-overs: " << metric(metrics, "warmpool_http_loop_handovers_total") << '\n';
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(30s), 0) << server.child().stderr_text();
  EXPECT_NE(server.child().stderr_text().find("warmpool serve: stopped\n"), std::string::npos)
      << server.child().stderr_text();
}

// Requests sent in one write to a loop that runs their calls inline are
// answered in order, and the calls did run inline.
TEST(ServeInlineCallsPipelining, PipelinedRequestsAreAnsweredInOrder) {
  ServeProcess server({plugin("echo.wasm"), "--threads", "2", "--inline-calls"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::string pipelined =
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond"
      "POST /call/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird";
  const int fd = connect_raw(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, pipelined.data(), pipelined.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(pipelined.size()));
  const std::string replies = read_until_closed(fd, 20s);
  ::close(fd);
  const auto first = replies.find("\r\n\r\nfirst");
  const auto ok = replies.find("\r\n\r\nok\n");
  const auto second = replies.find("\r\n\r\nsecond");
  const auto third = replies.find("\r\n\r\nthird");
  ASSERT_NE(third, std::string::npos) << replies;
  EXPECT_LT(first, ok) << replies;
  EXPECT_LT(ok, second) << replies;
  EXPECT_LT(second, third) << replies;
  EXPECT_GE(metric(metrics_of(server.port()), "warmpool_calls_inline_total{pool=\"echo\"}"), 1);
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(20s), 0) << server.child().stderr_text();
}

}  // namespace
}  // namespace warmpool::cli::test
