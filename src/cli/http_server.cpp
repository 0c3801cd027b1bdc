#include "http_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <optional>
#include <thread>

#include "error_status.hpp"

namespace warmpool::cli {
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
};

std::vector<std::unique_ptr<Loop>> make_loops(HttpServerStats& stats) {
  std::vector<std::unique_ptr<Loop>> loops;
  for (auto& connections : stats.connections_open_by_loop) {
    loops.push_back(std::make_unique<Loop>(connections));
  }
  return loops;
}

}  // namespace

class Session;

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o)
      : options(std::move(o)),
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

  // Any thread: a request got its answer.
  void answered();

  HttpServerOptions options;
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
  std::chrono::steady_clock::time_point last_accept_log{};
  std::uint64_t accept_errors_logged = 0;
  // Kept open so that, when descriptors run out, closing it frees one to
  // accept and close a pending connection with.
  int spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Live sessions, so shutdown can close the idle ones.
  std::vector<std::weak_ptr<Session>> sessions;
  std::size_t prune_at = 64;
  bool stopping = false;
  bool drained_cleanly = true;
  std::atomic<std::size_t> in_flight{0};  // requests handed to the handler, not yet answered
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server, Loop& loop)
      : stream_(std::move(socket)), server_(server), loop_(loop) {
    server_.stats.connections_open.fetch_add(1, std::memory_order_relaxed);
    loop_.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() {
    loop_.connections.fetch_sub(1, std::memory_order_relaxed);
    server_.stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // Closes the connection now if it is not handling a request, or after the
  // response in progress otherwise.
  void stop() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->close();
    });
  }

  Loop& loop() const { return loop_; }

  // The handler's answer, from any thread, run on the connection's own loop.
  void deliver(HttpResponse response) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(response)] {
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
    if (buffer_.size() > 0) return read_head();
    stream_.expires_after(server_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->close_after(ec);
                              self->buffer_.commit(n);
                              self->read_head();
                            });
  }

  void read_head() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body);
    stream_.expires_after(server_.options.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (ec) return on_read(ec);
    // RFC 9112 6.3: a request whose transfer coding does not end in chunked
    // has no reliable length; answering it would let a proxy in front and
    // this server disagree on where the next request starts.
    const auto& head = parser_->get();
    if (head.count(http::field::transfer_encoding) > 0 && !parser_->chunked()) {
      return respond_and_close(json_error(
          400, "bad_request",
          "unsupported Transfer-Encoding '" + std::string(head[http::field::transfer_encoding]) +
              "': a request body must be sent with Content-Length or chunked"));
    }
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return respond_and_close(json_error(413, "payload_too_large",
                                          "request body larger than --max-body (" +
                                              std::to_string(server_.options.max_body) +
                                              " bytes)"));
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::connection_reset) {
      return close_after(ec);
    }
    if (ec)
      return respond_and_close(json_error(400, "bad_request", "bad request: " + ec.message()));

    busy_ = true;
    stream_.expires_never();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    version_ = req.version();
    HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                        std::move(req.body())};
    started_ = std::chrono::steady_clock::now();
    server_.in_flight.fetch_add(1, std::memory_order_relaxed);
    server_.handler(std::move(request), make_responder());
  }

  Responder make_responder();

  void respond_and_close(HttpResponse response) {
    busy_ = true;
    head_ = false;
    started_ = std::chrono::steady_clock::now();
    if (parser_ && parser_->is_header_done()) version_ = parser_->get().version();
    write(std::move(response), true);
  }

  void write(HttpResponse r, bool close_after) {
    close_after_ = close_after;
    response_ = {};
    response_.version(version_);
    response_.result(r.status);
    response_.set(http::field::server, "warmpool");
    response_.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.set(name, value);
    response_.body() = std::move(r.body);
    response_.keep_alive(!close_after && !closing_);
    response_.prepare_payload();
    // HEAD: the headers of the GET response (Content-Length included), no body.
    if (head_) response_.body().clear();
    // Recorded before the write so a client that has its response can rely on
    // /metrics already counting it.
    server_.observer(r.status, std::chrono::steady_clock::now() - started_);
    // A client that stops reading must not hold the connection forever.
    stream_.expires_after(server_.options.idle_timeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    if (ec) return close_after(ec);
    if (close_after_ || closing_) return linger_close();
    read();
  }

  // Half-close, then drain what the client still sends until it closes too.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void close_after(const beast::error_code& ec) {
    if (ec == beast::error::timeout)
      server_.stats.timed_out.fetch_add(1, std::memory_order_relaxed);
    close();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  Loop& loop_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::array<char, 4096> drain_buffer_;
  std::chrono::steady_clock::time_point started_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool close_after_ = false;
  bool busy_ = false;     // a request is being handled or answered
  bool closing_ = false;  // the server is shutting down
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
  auto session = std::make_shared<Session>(std::move(socket), *this, loop);
  if (sessions.size() >= prune_at) {
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    prune_at = std::max<std::size_t>(64, sessions.size() * 2);
  }
  sessions.push_back(session);
  session->start();
  accept_next();
}

void HttpServer::Impl::on_accept_error(const beast::error_code& ec) {
  const auto errors = stats.accept_errors.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool no_fd = out_of_descriptors(ec);
  if (no_fd) shed_pending_connections();
  const auto now = std::chrono::steady_clock::now();
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
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) s->stop();
  }
  sessions.clear();
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
