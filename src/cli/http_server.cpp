#include "http_server.hpp"

#include <signal.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>

namespace warmpool::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// An idle keep-alive connection is dropped after this long.
constexpr auto kIdleTimeout = std::chrono::seconds(30);
// After an error response that closes the connection, unread request bytes
// are drained for at most this long so the client sees the response rather
// than a reset.
constexpr auto kLingerTimeout = std::chrono::seconds(2);

}  // namespace

class Session;

struct HttpServer::Impl {
  Impl(HttpServerOptions o, HttpHandler h, ResponseObserver obs)
      : options(std::move(o)),
        handler(std::move(h)),
        observer(std::move(obs)),
        io(static_cast<int>(options.threads)),
        control(asio::make_strand(io)),
        acceptor(control),
        signals(control, SIGINT, SIGTERM) {}

  void accept_next();
  void begin_shutdown();  // on `control`

  HttpServerOptions options;
  HttpHandler handler;
  ResponseObserver observer;
  asio::io_context io;
  asio::strand<asio::io_context::executor_type> control;  // accept, registry, shutdown
  tcp::acceptor acceptor;
  asio::signal_set signals;
  // Live sessions, so shutdown can close the idle ones. Touched on `control` only.
  std::vector<std::weak_ptr<Session>> sessions;
  std::size_t prune_at = 64;
  bool stopping = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // Called through the session's strand: closes the connection now if it is
  // idle, or after the response in progress otherwise.
  void stop() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->close();
    });
  }

 private:
  void read() {
    if (closing_) return close();
    parser_.emplace();
    parser_->body_limit(server_.options.max_body);
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return respond_and_close(413, "request body larger than --max-body (" +
                                        std::to_string(server_.options.max_body) + " bytes)\n");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    if (ec) return respond_and_close(400, "bad request: " + ec.message() + "\n");

    busy_ = true;
    stream_.expires_never();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    version_ = req.version();
    HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                        std::move(req.body())};
    started_ = std::chrono::steady_clock::now();
    write(server_.handler(request), !keep_alive_);
  }

  void respond_and_close(unsigned status, std::string message) {
    busy_ = true;
    head_ = false;
    started_ = std::chrono::steady_clock::now();
    if (parser_ && parser_->is_header_done()) version_ = parser_->get().version();
    write(HttpResponse{.status = status, .body = std::move(message)}, true);
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
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    if (ec) return close();
    if (close_after_) return linger_close();
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

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
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

void HttpServer::Impl::accept_next() {
  acceptor.async_accept(
      asio::make_strand(io),
      asio::bind_executor(control, [this](beast::error_code ec, tcp::socket socket) {
        if (ec || stopping) return;  // closed by shutdown (or a transient accept error)
        auto session = std::make_shared<Session>(std::move(socket), *this);
        if (sessions.size() >= prune_at) {
          std::erase_if(sessions, [](const auto& w) { return w.expired(); });
          prune_at = std::max<std::size_t>(64, sessions.size() * 2);
        }
        sessions.push_back(session);
        session->start();
        accept_next();
      }));
}

void HttpServer::Impl::begin_shutdown() {
  if (stopping) return;
  stopping = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) s->stop();
  }
  sessions.clear();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::bind(
    HttpServerOptions options, HttpHandler handler, ResponseObserver observer) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler), std::move(observer));
  const std::string where = impl->options.host + ":" + std::to_string(impl->options.port);
  beast::error_code ec;
  auto address = asio::ip::make_address(impl->options.host, ec);
  if (ec)
    return std::unexpected("--listen " + where + ": '" + impl->options.host +
                           "' is not an IP address");
  tcp::endpoint endpoint(address, impl->options.port);
  auto& a = impl->acceptor;
  if (a.open(endpoint.protocol(), ec); !ec)
    a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::unexpected("cannot listen on " + where + ": " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void HttpServer::run() {
  Impl& s = *impl_;
  s.signals.async_wait([&s](beast::error_code ec, int) {
    if (!ec) s.begin_shutdown();
  });
  asio::dispatch(s.control, [&s] { s.accept_next(); });
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
    for (std::size_t i = 1; i < s.options.threads; ++i) threads.emplace_back([&s] { s.io.run(); });
    s.io.run();
  }
  // Back to the caller's mask once every server thread is joined: a second
  // signal during the caller's clean-up then stays pending instead of taking
  // the default action.
  pthread_sigmask(SIG_SETMASK, &caller_mask, nullptr);
}

}  // namespace warmpool::cli
