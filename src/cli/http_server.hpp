// The HTTP/1.1 server under `warmpool serve`, on Asio with Beast's request
// parser (http_wire.hpp; each response is one gathered send): keep-alive
// and pipelining, limits on what one client may hold (body size, time to
// send a request, idle time, connections), and a graceful drain on
// SIGINT/SIGTERM.
//
// Each I/O thread runs an event loop of its own (an io_context: its own
// epoll, timers and handler queue), so N threads cost no more CPU per
// request than one: a connection's reads, handler and writes all run on the
// loop that accepted it, with no lock or wake-up shared with other loops.
// One acceptor, on the first loop, gives each new connection to the loop
// with the fewest open (ties in turn); the socket is registered with that
// loop's epoll at accept, so only its first handler crosses threads. (One
// SO_REUSEPORT socket per loop would save that hop but lets the kernel's
// hash put most connections of a few clients on one loop, and a closed
// loop's backlog is reset on drain.) Limits, the connection cap, the drain
// and the counters are the server's, across loops.
//
// A handler that has slow work to do (a plugin call) either hands the
// request to threads of its own and answers later through the `Responder`,
// which posts the answer back to the connection's own loop, or, with
// `inline_work`, runs it on the loop's thread inside an `InlineWork` scope
// (no hand-off, no wake-up of another thread): when that runs longer than
// 1 ms, a monitor hands the loop to another thread, so the loop's other
// connections wait 1-1.5 ms at most, and a busy or spinning plugin still
// never stops the server from accepting or answering /healthz. The accept loop
// survives every accept error: running out of file descriptors backs off and
// sheds the pending connection instead of leaving it in the backlog.
//
//   auto server = HttpServer::bind({.host = "127.0.0.1", .port = 0});   // before warm-up
//   if (!server) { std::cerr << server.error(); return 2; }
//   (*server)->listen();
//   std::cout << (*server)->address();
//   (*server)->run([](HttpRequest r, Responder answer) { answer({.status = 200, .body = "ok\n"});
//   },
//                  [](unsigned status, std::chrono::nanoseconds d) {}, {});
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace warmpool::cli {
namespace http_io {
struct Loop;
}

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

// Answers one request, from any thread, exactly once. Copies share the
// answer: the first call wins. A request whose every Responder is destroyed
// unanswered gets a 500, so a handler bug cannot leave a client hanging.
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void operator()(HttpResponse response) const;

 private:
  std::shared_ptr<State> state_;
};

using HttpHandler = std::function<void(HttpRequest, Responder)>;
// Sees every response the server writes (including its own 400/413), with
// the time from the complete request to the response being ready, just
// before it is written.
using ResponseObserver = std::function<void(unsigned status, std::chrono::nanoseconds elapsed)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IP literal or a name such as localhost
  std::uint16_t port = 8080;       // 0: any free port, see HttpServer::port()
  std::size_t io_threads = 1;
  std::size_t max_body = 1 << 20;
  // Connections beyond this are closed as soon as they are accepted.
  std::size_t max_connections = 1024;
  // A request's head and body must arrive within this of its first byte.
  std::chrono::milliseconds header_timeout{10'000};
  // A connection waiting for its next request is closed after this.
  std::chrono::milliseconds idle_timeout{30'000};
  // Both are enforced by one timer per loop that checks its connections'
  // deadlines every tenth of the shorter (at most every 100 ms), so a
  // timeout fires up to that much late and never early.
  // Handlers may run slow work on the loop's thread (InlineWork).
  bool inline_work = false;
};

// Slow work (a plugin call) that a handler runs on its loop's own thread,
// for as long as the object lives. If it outlives 1 ms, another thread
// takes over the loop's other connections, and the answer, given when the
// work is done, is posted to it. Only on a server with `inline_work`:
//
//   if (InlineWork::available()) {
//     HttpResponse r;
//     { InlineWork on_loop; r = run_the_call(); }
//     respond(std::move(r));
//   }
class InlineWork {
 public:
  // True inside a handler of a server that allows inline work.
  static bool available();
  InlineWork();
  ~InlineWork();
  InlineWork(const InlineWork&) = delete;
  InlineWork& operator=(const InlineWork&) = delete;

 private:
  http_io::Loop* loop_;  // null off a loop thread
  std::int64_t since_ = 0;
};

// What the server saw, for /metrics. Relaxed counters: each is exact, a set
// read together is not a snapshot.
struct HttpServerStats {
  explicit HttpServerStats(std::size_t io_threads = 1) : connections_open_by_loop(io_threads) {}
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_over_cap{0};  // closed at once: max_connections reached
  std::atomic<std::uint64_t> accept_errors{0};         // any failed accept, EMFILE included
  std::atomic<std::uint64_t> shed_for_fds{0};  // pending connections closed for want of an fd
  std::atomic<std::uint64_t> timed_out{0};     // closed by the header or idle timeout
  // Loops given another thread because inline work ran past 1 ms.
  std::atomic<std::uint64_t> loop_handovers{0};
  // connections_open split by the I/O thread (event loop) serving them.
  std::deque<std::atomic<std::uint64_t>> connections_open_by_loop;
};

// What to do when SIGINT/SIGTERM has stopped the server accepting and
// requests are still in flight.
struct DrainOptions {
  std::chrono::milliseconds timeout{10'000};
  // Runs once, on a server thread, when `timeout` passes with requests still
  // in flight (e.g. interrupt the plugin calls). Optional.
  std::function<void(std::size_t in_flight)> on_timeout;
  // After on_timeout, how long the interrupted requests have to be answered
  // before run() gives up on them.
  std::chrono::milliseconds grace{2'000};
};

class HttpServer {
 public:
  // Resolves and binds the address, so that a bad or busy address is
  // reported before anything slow happens; connections wait for listen().
  static std::expected<std::unique_ptr<HttpServer>, std::string> bind(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // "127.0.0.1:8080" or "[::1]:8080", as bound.
  std::string address() const;
  const HttpServerStats& stats() const;

  // From here on the kernel queues connections; run() accepts them.
  std::expected<void, std::string> listen();

  // Serves until SIGINT/SIGTERM. Then it stops accepting (new connections
  // are refused), closes idle connections, lets requests in flight be
  // answered within `drain`, and returns true; false when requests were
  // still unanswered after the drain timeout and its grace (their handlers
  // may still be running: the caller should exit without waiting for them).
  //
  // The caller may keep SIGINT/SIGTERM blocked until now (from before it
  // started any thread) so one arriving during its start-up waits instead of
  // killing the process: run() unblocks them for its threads, handles a
  // pending one at once, and restores the caller's mask before returning.
  bool run(HttpHandler handler, ResponseObserver observer, DrainOptions drain);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warmpool::cli
