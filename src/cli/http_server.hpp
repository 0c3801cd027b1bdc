// A small HTTP/1.1 server on Boost.Beast for `warmpool serve`: keep-alive,
// a request body limit (413), and graceful shutdown on SIGINT/SIGTERM.
//
// Handlers run synchronously on one of the server's threads, so a slow
// plugin call occupies a thread but never blocks another connection's
// parsing on a different thread. HTTP parsing is Beast's; nothing here
// parses HTTP by hand.
//
//   auto server = HttpServer::bind({.host = "127.0.0.1", .port = 0, .threads = 4,
//                                   .max_body = 1 << 20},
//                                  [](HttpRequest& r) { return HttpResponse{200, "ok\n"}; },
//                                  [](unsigned status, std::chrono::nanoseconds d) {});
//   std::cout << (*server)->port();
//   (*server)->run();   // returns after SIGINT/SIGTERM once in-flight requests are answered
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warmpool::cli {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers{};
};

using HttpHandler = std::function<HttpResponse(HttpRequest&)>;
// Sees every response the server writes (including its own 413/400), with
// the time from the complete request to the response being ready, just
// before it is written.
using ResponseObserver = std::function<void(unsigned status, std::chrono::nanoseconds elapsed)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port, see HttpServer::port()
  std::size_t threads = 4;
  std::size_t max_body = 1 << 20;
};

class HttpServer {
 public:
  static std::expected<std::unique_ptr<HttpServer>, std::string> bind(HttpServerOptions options,
                                                                      HttpHandler handler,
                                                                      ResponseObserver observer);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // Serves until SIGINT/SIGTERM. Then it stops accepting (new connections
  // are refused), closes idle keep-alive connections, lets requests in
  // flight finish and be answered, and returns.
  //
  // The caller may keep SIGINT/SIGTERM blocked until now (from before it
  // started any thread) so one arriving during its start-up waits instead of
  // killing the process: run() unblocks them for its threads, handles a
  // pending one at once, and restores the caller's mask before returning.
  void run();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warmpool::cli
