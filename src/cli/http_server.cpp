#include "http_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/error.hpp>
#include <iostream>
#include <optional>
#include <thread>

#include "error_status.hpp"
#include "http_wire.hpp"

namespace warmpool::cli {

class Session;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// After an error response that closes the connection, unread request bytes
// are drained for at most this long so the client sees the response rather
// than a reset.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
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

using Clock = std::chrono::steady_clock;
constexpr auto kNoDeadline = Clock::time_point::max();

// One I/O thread's event loop: its own io_context (its own epoll and timer
// queue), so a request is read, handled and answered without any handler
// crossing to another thread.
struct Loop {
  explicit Loop(std::atomic<std::uint64_t>& open) : connections(open) {}
  // Run by one thread, posted to by others (answers). Asio's concurrency
  // hint 1 was measured no cheaper per request than the default, so none.
  asio::io_context io;
  // Keeps run() going while the loop has no connection, until shutdown.
  asio::executor_work_guard<asio::io_context::executor_type> serving = asio::make_work_guard(io);
  // Its entry in HttpServerStats::connections_open_by_loop, which the
  // acceptor reads to pick the least loaded loop.
  std::atomic<std::uint64_t>& connections;
  // The loop's connections, for their deadlines and the shutdown; touched by
  // the loop's thread only. One timer per loop checks every deadline each
  // tick: arming a timer per read and per write (what beast::tcp_stream does)
  // cost ~2 timer-queue updates and a handler per request.
  std::vector<std::weak_ptr<Session>> sessions;
  asio::steady_timer sweep{io};
  bool sweeping = false;
};

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

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o)
      : options(std::move(o)),
        tick(sweep_tick(options)),
        stats(std::max<std::size_t>(options.io_threads, 1)),
        loops(make_loops(stats)),
        control(loops.front()->io),
        acceptor(control),
        signals(control, SIGINT, SIGTERM),
        accept_retry(control),
        drain_timer(control) {}
  ~Impl() {
    if (spare_fd >= 0) ::close(spare_fd);
  }

  // All on `control`.
  Loop& least_loaded_loop();
  void accept_next();
  void on_accept(beast::error_code ec, tcp::socket socket, Loop& loop);
  void on_accept_error(const beast::error_code& ec);
  void shed_pending_connections();
  void begin_shutdown();
  void wait_for_drain(std::chrono::milliseconds timeout, bool interrupted);
  void stop_loops();

  // On the session's loop.
  void watch(Loop& loop, const std::shared_ptr<Session>& session);
  void sweep(Loop& loop);

  // Any thread: a request got its answer.
  void answered();

  HttpServerOptions options;
  Clock::duration tick;
  HttpServerStats stats;
  HttpHandler handler;
  ResponseObserver observer;
  DrainOptions drain;
  std::vector<std::unique_ptr<Loop>> loops;
  // The first loop also accepts, takes the signals and runs the shutdown;
  // its thread is the only one that touches the members below.
  asio::io_context& control;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer accept_retry;
  asio::steady_timer drain_timer;
  std::size_t next_loop = 0;  // where the search for the least loaded loop starts
  std::chrono::milliseconds accept_backoff = kFirstAcceptBackoff;
  Clock::time_point last_accept_log{};
  std::uint64_t accept_errors_logged = 0;
  // Kept open so that, when descriptors run out, closing it frees one to
  // accept and close a pending connection with.
  int spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  bool stopping = false;
  bool drained_cleanly = true;
  std::atomic<std::size_t> in_flight{0};  // requests handed to the handler, not yet answered
};

// One connection, on its loop's thread (deliver() may be called from any).
// Reads with Beast's parser, writes each response with one gathered send,
// and keeps a deadline that the loop's sweep enforces.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server, Loop& loop)
      : socket_(std::move(socket)), server_(server), loop_(loop) {
    server_.stats.connections_open.fetch_add(1, std::memory_order_relaxed);
    loop_.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() {
    loop_.connections.fetch_sub(1, std::memory_order_relaxed);
    server_.stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    asio::dispatch(loop_.io, [self = shared_from_this()] {
      self->server_.watch(self->loop_, self);
      self->read();
    });
  }

  // Closes the connection now if it is not handling a request, or after the
  // response in progress otherwise. On the loop.
  void stop() {
    closing_ = true;
    if (!busy_) close();
  }

  // The sweep's check, on the loop. A connection that passed its deadline
  // is closed; its pending read or write ends with operation_aborted.
  void expire_if_due(Clock::time_point now) {
    if (now < deadline_) return;
    if (!lingering_) server_.stats.timed_out.fetch_add(1, std::memory_order_relaxed);
    close();
  }

  Loop& loop() const { return loop_; }

  // The handler's answer, from any thread, written on the connection's own
  // loop: at once when the handler answered there (GET /healthz, errors),
  // else posted.
  void deliver(HttpResponse response) {
    asio::dispatch(loop_.io, [self = shared_from_this(), r = std::move(response)]() mutable {
      self->server_.answered();
      self->write(std::move(r), !self->keep_alive_);
    });
  }

 private:
  // Waits up to the idle timeout for the first byte of the next request
  // (unless a pipelined one is already buffered), then reads it under the
  // header timeout.
  void read() {
    if (closing_) return close();
    if (buffer_.size() > 0) return start_request();
    deadline_ = Clock::now() + server_.options.idle_timeout;
    socket_.async_read_some(buffer_.prepare(read_size()),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->start_request();
                            });
  }

  void start_request() {
    parser_.emplace(server_.options.max_body);
    checked_head_ = false;
    deadline_ = Clock::now() + server_.options.header_timeout;
    parse();
  }

  // Feeds the parser what is buffered; reads more until the request is complete.
  void parse() {
    while (buffer_.size() > 0) {
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return refuse(ec);
      if (!checked_head_ && parser_->is_header_done()) {
        checked_head_ = true;
        if (auto refused = refuse_transfer_encoding())
          return respond_and_close(std::move(*refused));
      }
      if (parser_->is_done()) return on_request();
      if (used == 0) break;
    }
    socket_.async_read_some(buffer_.prepare(read_size()),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_read_some(ec, n);
                            });
  }

  void on_read_some(beast::error_code ec, std::size_t n) {
    if (ec == asio::error::eof && parser_->got_some()) {
      // The client ended mid-request: Beast reports it as partial_message.
      ec = {};
      parser_->put_eof(ec);
      return refuse(ec ? ec : beast::error_code(http::error::partial_message));
    }
    if (ec) return close();
    buffer_.commit(n);
    parse();
  }

  // Reads as much as the buffer holds without growing, at least 4 KiB.
  std::size_t read_size() const {
    return std::clamp<std::size_t>(buffer_.capacity() - buffer_.size(), 4096, 65536);
  }

  // RFC 9112 6.3: a request whose transfer coding does not end in chunked
  // has no reliable length; answering it would let a proxy in front and
  // this server disagree on where the next request starts.
  std::optional<HttpResponse> refuse_transfer_encoding() const {
    if (!parser_->transfer_encoding() || parser_->chunked()) return std::nullopt;
    return json_error(400, "bad_request",
                      "unsupported Transfer-Encoding '" + *parser_->transfer_encoding() +
                          "': a request body must be sent with Content-Length or chunked");
  }

  void refuse(const beast::error_code& ec) {
    if (ec == http::error::body_limit) {
      return respond_and_close(json_error(413, "payload_too_large",
                                          "request body larger than --max-body (" +
                                              std::to_string(server_.options.max_body) +
                                              " bytes)"));
    }
    respond_and_close(json_error(400, "bad_request", "bad request: " + ec.message()));
  }

  void on_request() {
    busy_ = true;
    deadline_ = kNoDeadline;
    keep_alive_ = parser_->keep_alive();
    head_ = parser_->is_head();
    version_ = parser_->version();
    HttpRequest request{parser_->take_method(), parser_->take_target(), parser_->take_body()};
    started_ = Clock::now();
    server_.in_flight.fetch_add(1, std::memory_order_relaxed);
    server_.handler(std::move(request), make_responder());
  }

  Responder make_responder();

  void respond_and_close(HttpResponse response) {
    busy_ = true;
    head_ = false;
    started_ = Clock::now();
    if (parser_ && parser_->is_header_done()) version_ = parser_->version();
    write(std::move(response), true);
  }

  void write(HttpResponse r, bool close_after) {
    close_after_ = close_after;
    body_ = std::move(r.body);
    write_response_head(head_text_,
                        {.status = r.status,
                         .content_type = r.content_type,
                         .body_size = body_.size(),
                         .version = version_,
                         .keep_alive = !close_after && !closing_},
                        r.headers);
    // HEAD: the headers of the GET response (Content-Length included), no body.
    if (head_) body_.clear();
    // Recorded before the write so a client that has its response can rely on
    // /metrics already counting it.
    const auto now = Clock::now();
    server_.observer(r.status, now - started_);
    // A client that stops reading must not hold the connection forever.
    deadline_ = now + server_.options.idle_timeout;
    const std::array<asio::const_buffer, 2> message{asio::buffer(head_text_), asio::buffer(body_)};
    asio::async_write(
        socket_, message,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    if (ec) return close();
    if (close_after_ || closing_) return linger_close();
    read();
  }

  // Half-close, then drain what the client still sends until it closes too.
  void linger_close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    lingering_ = true;
    deadline_ = Clock::now() + kLingerTimeout;
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void close() {
    deadline_ = kNoDeadline;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  HttpServer::Impl& server_;
  Loop& loop_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string head_text_;
  std::string body_;
  std::array<char, 4096> drain_buffer_;
  Clock::time_point started_;
  Clock::time_point deadline_ = kNoDeadline;
  int version_ = 11;
  bool checked_head_ = false;
  bool keep_alive_ = true;
  bool head_ = false;
  bool close_after_ = false;
  bool busy_ = false;       // a request is being handled or answered
  bool closing_ = false;    // the server is shutting down
  bool lingering_ = false;  // closing after an error response: a timeout here is no client's fault
};

// One request's answer. It keeps the connection's loop running (a work
// guard) until the answer is in, so a drain waits for calls running elsewhere.
struct Responder::State {
  explicit State(std::shared_ptr<Session> s)
      : session(std::move(s)), keep_running(session->loop().io.get_executor()) {}
  ~State() {
    if (!answered.exchange(true)) {
      session->deliver(json_error(500, "internal", "the request was dropped without an answer"));
    }
  }
  std::shared_ptr<Session> session;
  asio::executor_work_guard<asio::io_context::executor_type> keep_running;
  std::atomic<bool> answered{false};
};

void Responder::operator()(HttpResponse response) const {
  if (!state_->answered.exchange(true)) state_->session->deliver(std::move(response));
}

Responder Session::make_responder() {
  return Responder(std::make_shared<Responder::State>(shared_from_this()));
}

void HttpServer::Impl::watch(Loop& loop, const std::shared_ptr<Session>& session) {
  loop.sessions.push_back(session);
  if (loop.sweeping) return;
  loop.sweeping = true;
  loop.sweep.expires_after(tick);
  loop.sweep.async_wait([this, &loop](beast::error_code) { sweep(loop); });
}

// The loop's sessions past their deadline are closed; closed ones are
// forgotten. It stops once the loop has none, so an emptied loop can end.
void HttpServer::Impl::sweep(Loop& loop) {
  const auto now = Clock::now();
  std::erase_if(loop.sessions, [now](const std::weak_ptr<Session>& weak) {
    const auto session = weak.lock();
    if (session) session->expire_if_due(now);
    return session == nullptr;
  });
  if (loop.sessions.empty()) {
    loop.sweeping = false;
    return;
  }
  loop.sweep.expires_after(tick);
  loop.sweep.async_wait([this, &loop](beast::error_code) { sweep(loop); });
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
  std::make_shared<Session>(std::move(socket), *this, loop)->start();
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
        if (auto session = weak.lock()) session->stop();
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
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 1; i < s.loops.size(); ++i) {
      threads.emplace_back([&loop = *s.loops[i]] { loop.io.run(); });
    }
    s.control.run();
  }
  // Back to the caller's mask once every server thread is joined: a second
  // signal during the caller's clean-up then stays pending instead of taking
  // the default action.
  pthread_sigmask(SIG_SETMASK, &caller_mask, nullptr);
  return s.drained_cleanly;
}

}  // namespace warmpool::cli
