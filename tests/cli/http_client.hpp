// Test helper: a blocking HTTP/1.1 client (Boost.Beast) for driving
// `warmpool serve` on loopback. Keeps its connection alive and reconnects
// when the server closed it; every socket read has a timeout so a stuck
// server fails the test instead of hanging it.
//
//   HttpClient c(port);
//   auto r = c.request("POST", "/call/echo", "hello");
//   ASSERT_TRUE(r) << r.error();
//   EXPECT_EQ(r->status, 200u);
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <string>

namespace warmpool::cli::test {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  std::expected<HttpReply, std::string> request(const std::string& method,
                                                const std::string& target,
                                                const std::string& body = "");
  // Opens the connection now (so a test can hold an idle keep-alive connection).
  std::expected<void, std::string> connect();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// True when a TCP connection to 127.0.0.1:port is accepted.
bool can_connect(std::uint16_t port);

}  // namespace warmpool::cli::test
