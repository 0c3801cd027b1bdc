#include "http_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "http_loop.hpp"

namespace warmpool::cli {

using namespace http_io;

namespace {

// Retrying accept while the process has no file descriptor to spare: the
// first wait, and the longest.
constexpr auto kFirstAcceptBackoff = std::chrono::milliseconds(10);
constexpr auto kLongestAcceptBackoff = std::chrono::seconds(1);
// Pending connections closed per retry when no descriptor is free.
constexpr int kShedPerRetry = 64;

bool out_of_descriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

std::vector<std::unique_ptr<Loop>> make_loops(HttpServerStats& stats) {
  std::vector<std::unique_ptr<Loop>> loops;
  for (auto& connections : stats.connections_open_by_loop) {
    loops.push_back(std::make_unique<Loop>(connections));
  }
  return loops;
}

// How often a loop checks its connections' deadlines: a tenth of the
// shortest timeout, so one fires at most 10% late, and at least every
// kLongestSweepTick (which also bounds how long an emptied loop lingers at
// shutdown).
constexpr auto kLongestSweepTick = std::chrono::milliseconds(100);
Clock::duration sweep_tick(const HttpServerOptions& options) {
  const auto shortest =
      std::min({options.header_timeout, options.idle_timeout,
                std::chrono::duration_cast<std::chrono::milliseconds>(kLingerTimeout)});
  return std::clamp<Clock::duration>(shortest / 10, std::chrono::milliseconds(1),
                                     kLongestSweepTick);
}

}  // namespace

HttpServer::Impl::Impl(HttpServerOptions o)
    : options(std::move(o)),
      tick(sweep_tick(options)),
      stats(std::max<std::size_t>(options.io_threads, 1)),
      loops(make_loops(stats)),
      control(loops.front()->io),
      acceptor(control),
      signals(control, SIGINT, SIGTERM),
      accept_retry(control),
      drain_timer(control),
      accept_backoff(kFirstAcceptBackoff),
      spare_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

HttpServer::Impl::~Impl() {
  if (spare_fd >= 0) ::close(spare_fd);
}

void HttpServer::Impl::answered() {
  if (in_flight.fetch_sub(1, std::memory_order_relaxed) == 1) {
    asio::post(control, [this] {
      if (stopping) drain_timer.cancel();
    });
  }
}

// Fewest open connections, ties broken round-robin: a connection stays on
// its loop for life, so counting beats taking turns when some connections
// live much longer than others.
Loop& HttpServer::Impl::least_loaded_loop() {
  Loop* best = nullptr;
  for (std::size_t i = 0; i < loops.size(); ++i) {
    Loop& candidate = *loops[(next_loop + i) % loops.size()];
    if (best == nullptr || candidate.connections.load(std::memory_order_relaxed) <
                               best->connections.load(std::memory_order_relaxed)) {
      best = &candidate;
    }
  }
  next_loop = (next_loop + 1) % loops.size();
  return *best;
}

// The accepted socket is registered with the chosen loop's epoll directly;
// only its first handler crosses threads, never a request's.
void HttpServer::Impl::accept_next() {
  Loop& loop = least_loaded_loop();
  acceptor.async_accept(loop.io, [this, &loop](beast::error_code ec, tcp::socket s) {
    on_accept(ec, std::move(s), loop);
  });
}

void HttpServer::Impl::on_accept(beast::error_code ec, tcp::socket socket, Loop& loop) {
  if (stopping) return;  // the acceptor was closed by shutdown
  if (ec) return on_accept_error(ec);
  accept_backoff = kFirstAcceptBackoff;
  stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  if (stats.connections_open.load(std::memory_order_relaxed) >= options.max_connections) {
    stats.connections_over_cap.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
    return accept_next();
  }
  start_session(std::move(socket), *this, loop);
  accept_next();
}

void HttpServer::Impl::on_accept_error(const beast::error_code& ec) {
  const auto errors = stats.accept_errors.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool no_fd = out_of_descriptors(ec);
  if (no_fd) shed_pending_connections();
  const auto now = Clock::now();
  if (now - last_accept_log >= std::chrono::seconds(1)) {
    std::cerr << "warmpool serve: accept failed: " + ec.message() + " (" +
                     std::to_string(errors - accept_errors_logged) + " accept error" +
                     (errors - accept_errors_logged == 1 ? "" : "s") + " since the last report" +
                     (no_fd ? "; pending connections are closed until descriptors free up" : "") +
                     ")\n";
    last_accept_log = now;
    accept_errors_logged = errors;
  }
  // A refused or aborted connection says nothing about the next one.
  if (!no_fd) return accept_next();
  accept_retry.expires_after(accept_backoff);
  accept_backoff = std::min<std::chrono::milliseconds>(2 * accept_backoff, kLongestAcceptBackoff);
  accept_retry.async_wait([this](beast::error_code timer_ec) {
    if (!timer_ec && !stopping) accept_next();
  });
}

// With every descriptor in use, pending connections would sit in the listen
// backlog (their clients gone, the sockets in CLOSE-WAIT) for as long as the
// shortage lasts. Closing them frees the backlog; the spare descriptor is
// what makes accepting them possible at all.
void HttpServer::Impl::shed_pending_connections() {
  if (spare_fd < 0) return;
  ::close(spare_fd);
  for (int i = 0; i < kShedPerRetry; ++i) {
    const int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;
    ::close(fd);
    stats.shed_for_fds.fetch_add(1, std::memory_order_relaxed);
  }
  spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void HttpServer::Impl::begin_shutdown() {
  if (stopping) return;
  stopping = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  accept_retry.cancel();
  // Posted after every accepted session's start(), so each loop sees them all.
  for (auto& loop : loops) {
    asio::post(loop->io, [&loop = *loop] {
      for (auto& weak : loop.sessions) {
        if (auto session = weak.lock()) stop_session(*session);
      }
    });
  }
  // Each loop now ends once its connections are closed and its answers in.
  for (auto& loop : loops) loop->serving.reset();
  if (in_flight.load(std::memory_order_relaxed) > 0) wait_for_drain(drain.timeout, false);
}

// Requests still in flight when the drain timeout passes are interrupted
// (on_timeout); those still unanswered after the grace are given up on.
void HttpServer::Impl::wait_for_drain(std::chrono::milliseconds timeout, bool interrupted) {
  drain_timer.expires_after(timeout);
  drain_timer.async_wait([this, interrupted](beast::error_code ec) {
    const std::size_t left = in_flight.load(std::memory_order_relaxed);
    if (ec || left == 0) return;  // cancelled: the last request was answered
    if (!interrupted) {
      std::cerr << "warmpool serve: " + std::to_string(left) + " request" + (left == 1 ? "" : "s") +
                       " still running after the " + std::to_string(drain.timeout.count()) +
                       " ms drain; interrupting\n";
      if (drain.on_timeout) drain.on_timeout(left);
      return wait_for_drain(drain.grace, true);
    }
    std::cerr << "warmpool serve: " + std::to_string(left) + " request" + (left == 1 ? "" : "s") +
                     " still running after the interrupt; giving up on them\n";
    drained_cleanly = false;
    stop_loops();
  });
}

void HttpServer::Impl::stop_loops() {
  for (auto& loop : loops) loop->io.stop();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::bind(
    HttpServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  const std::string& host = impl->options.host;
  const std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                            std::to_string(impl->options.port);
  beast::error_code ec;
  tcp::endpoint endpoint;
  if (auto address = asio::ip::make_address(host, ec); !ec) {
    endpoint = tcp::endpoint(address, impl->options.port);
  } else {
    tcp::resolver resolver(impl->control);
    auto found = resolver.resolve(host, std::to_string(impl->options.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
      return std::unexpected("--listen " + where + ": cannot resolve '" + host +
                             "': " + (ec ? ec.message() : "no address"));
    }
    // A name with both families (localhost) listens on its IPv4 address:
    // that is what clients given the name try first on most systems.
    endpoint = found.begin()->endpoint();
    for (const auto& entry : found) {
      if (entry.endpoint().address().is_v4()) {
        endpoint = entry.endpoint();
        break;
      }
    }
  }
  auto& a = impl->acceptor;
  if (a.open(endpoint.protocol(), ec); !ec)
    a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (ec) return std::unexpected("cannot listen on " + where + ": " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string HttpServer::address() const {
  const auto endpoint = impl_->acceptor.local_endpoint();
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

const HttpServerStats& HttpServer::stats() const {
  return impl_->stats;
}

std::expected<void, std::string> HttpServer::listen() {
  beast::error_code ec;
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::unexpected("cannot listen on " + address() + ": " + ec.message());
  return {};
}

bool HttpServer::run(HttpHandler handler, ResponseObserver observer, DrainOptions drain) {
  Impl& s = *impl_;
  s.handler = std::move(handler);
  s.observer = std::move(observer);
  s.drain = std::move(drain);
  s.signals.async_wait([&s](beast::error_code signal_ec, int) {
    if (!signal_ec) s.begin_shutdown();
  });
  asio::post(s.control, [&s] { s.accept_next(); });
  // `signals` has its handler installed since bind(), so a signal the caller
  // kept blocked through start-up is delivered now (and queued by Asio until
  // the loop runs); the server threads inherit the unblocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t caller_mask;
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, &caller_mask);
  // Every loop runs on threads of its own, this one only waits: a loop
  // thread may be stuck in inline work that no deadline ends, and the
  // caller must get control back to exit anyway.
  if (s.options.inline_work) {
    s.monitor = std::make_unique<InlineMonitor>(s.loops, s.stats.loop_handovers);
    for (auto& loop : s.loops) loop->monitor = s.monitor.get();
  }
  for (auto& loop : s.loops) start_loop_thread(*loop);
  for (auto& loop : s.loops) wait_until_finished(*loop);
  s.monitor.reset();
  for (auto& loop : s.loops) release_threads(*loop, s.drained_cleanly);
  // Back to the caller's mask once every server thread is joined: a second
  // signal during the caller's clean-up then stays pending instead of taking
  // the default action.
  pthread_sigmask(SIG_SETMASK, &caller_mask, nullptr);
  return s.drained_cleanly;
}

}  // namespace warmpool::cli
