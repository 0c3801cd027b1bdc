// HttpServer's insides, shared by http_server.cpp (accepting, shutdown),
// http_loop_runner.cpp (the threads that run a loop, and the monitor that
// gives a loop another thread when a handler's inline work runs long) and
// http_session.cpp (one connection: reading, handing the request to the
// handler, writing, deadlines). Internal to the server: nothing else
// includes it.
//
//   http_io::start_session(std::move(socket), server, loop);   // on accept
//   http_io::stop_session(session);                            // at shutdown, on its loop
//   http_io::start_loop_thread(loop);                          // run(): its first thread
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http_server.hpp"

namespace warmpool::cli {
namespace http_io {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// After an error response that closes the connection, unread request bytes
// are drained for at most this long so the client sees the response rather
// than a reset.
inline constexpr auto kLingerTimeout = std::chrono::seconds(2);

class Session;
class InlineMonitor;

// One I/O thread's event loop: its own io_context (its own epoll and timer
// queue), so a request is read, handled and answered without any handler
// crossing to another thread.
struct Loop {
  explicit Loop(std::atomic<std::uint64_t>& open) : connections(open) {}
  // Run by one thread at a time (the baton's holder, below), posted to by
  // others (answers). Asio's concurrency hint 1 must not be given: a
  // handed-over loop briefly has two threads inside run_one().
  asio::io_context io;
  // Keeps run_one() going while the loop has no connection, until shutdown.
  asio::executor_work_guard<asio::io_context::executor_type> serving = asio::make_work_guard(io);
  // Its entry in HttpServerStats::connections_open_by_loop, which the
  // acceptor reads to pick the least loaded loop.
  std::atomic<std::uint64_t>& connections;
  // The loop's connections, for their deadlines and the shutdown; touched by
  // the thread holding the loop's baton only. One timer per loop checks every deadline each
  // tick: arming a timer per read and per write (what beast::tcp_stream does)
  // cost ~2 timer-queue updates and a handler per request.
  std::vector<std::weak_ptr<Session>> sessions;
  asio::steady_timer sweep{io};
  bool sweeping = false;

  // Which thread runs the loop's handlers: one at a time, the holder of the
  // baton (a token per thread; 0 while it is being handed on). A handler
  // doing inline work (InlineWork) marks when it began; if that runs past
  // kInlineRescueAfter, the monitor hands the baton to another thread, and
  // the stuck one, once its work is done, posts its answer and waits as a
  // spare. So only one thread ever touches the loop's state.
  bool runs_on_this_thread() const;
  std::atomic<unsigned> holder{0};
  // steady_clock nanoseconds since its epoch when the holder's inline work
  // began; 0 when there is none.
  std::atomic<std::int64_t> inline_work_since{0};
  InlineMonitor* monitor = nullptr;  // set by run() when inline work is allowed
  // Under baton_mutex: the loop's threads (one, plus one per rescue that
  // found no spare), how many wait as spares, and whether the loop ended.
  std::mutex baton_mutex;
  std::condition_variable baton_free;
  std::vector<std::thread> threads;
  std::size_t spares = 0;
  bool finished = false;
};

// Inline work running longer than this gets its loop another thread.
inline constexpr auto kInlineRescueAfter = std::chrono::milliseconds(1);

// Watches every loop's inline work and rescues loops stuck in it. Its
// thread ticks every half kInlineRescueAfter while inline work was seen
// within the last kIdleTicks ticks, and sleeps otherwise until new inline
// work wakes it.
class InlineMonitor {
 public:
  // Its thread stops when it is destroyed.
  InlineMonitor(const std::vector<std::unique_ptr<Loop>>& loops,
                std::atomic<std::uint64_t>& handovers);
  InlineMonitor(const InlineMonitor&) = delete;
  InlineMonitor& operator=(const InlineMonitor&) = delete;
  // From InlineWork, on a loop thread: wakes the monitor if it sleeps.
  void work_started();

 private:
  static constexpr int kIdleTicks = 100;
  void watch(const std::stop_token& stop);
  bool any_inline_work(std::int64_t now_ns);

  const std::vector<std::unique_ptr<Loop>>& loops_;
  std::atomic<std::uint64_t>& handovers_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::atomic<bool> sleeping_{false};
  std::jthread thread_;  // last: it uses the members above
};

// Starts the loop's first thread (under its baton_mutex, like every later one).
void start_loop_thread(Loop& loop);
// Blocks until the loop has ended (its io_context stopped or out of work).
void wait_until_finished(Loop& loop);
// After wait_until_finished and the monitor's end: joins the loop's threads,
// or detaches them when some may still be inside work that never returns.
void release_threads(Loop& loop, bool join);

// Serves an accepted connection on `loop`, whose epoll has its socket.
void start_session(tcp::socket socket, HttpServer::Impl& server, Loop& loop);
// On the session's loop: closes the connection now if it is not handling a
// request, or after the response in progress otherwise.
void stop_session(Session& session);

}  // namespace http_io

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o);
  ~Impl();

  // All on `control`.
  http_io::Loop& least_loaded_loop();
  void accept_next();
  void on_accept(http_io::beast::error_code ec, http_io::tcp::socket socket, http_io::Loop& loop);
  void on_accept_error(const http_io::beast::error_code& ec);
  void shed_pending_connections();
  void begin_shutdown();
  void wait_for_drain(std::chrono::milliseconds timeout, bool interrupted);
  void stop_loops();

  // On the session's loop.
  void watch(http_io::Loop& loop, const std::shared_ptr<http_io::Session>& session);
  void sweep(http_io::Loop& loop);

  // Any thread: a request got its answer.
  void answered();

  HttpServerOptions options;
  http_io::Clock::duration tick;
  HttpServerStats stats;
  HttpHandler handler;
  ResponseObserver observer;
  DrainOptions drain;
  std::vector<std::unique_ptr<http_io::Loop>> loops;
  // The first loop also accepts, takes the signals and runs the shutdown;
  // only its baton's holder touches the members below.
  http_io::asio::io_context& control;
  http_io::tcp::acceptor acceptor;
  http_io::asio::signal_set signals;
  http_io::asio::steady_timer accept_retry;
  http_io::asio::steady_timer drain_timer;
  std::size_t next_loop = 0;  // where the search for the least loaded loop starts
  std::chrono::milliseconds accept_backoff;
  http_io::Clock::time_point last_accept_log{};
  std::uint64_t accept_errors_logged = 0;
  // Kept open so that, when descriptors run out, closing it frees one to
  // accept and close a pending connection with.
  int spare_fd;
  bool stopping = false;
  bool drained_cleanly = true;
  std::atomic<std::size_t> in_flight{0};  // requests handed to the handler, not yet answered
  // With options.inline_work, from run() until every loop has ended.
  std::unique_ptr<http_io::InlineMonitor> monitor;
};

}  // namespace warmpool::cli
