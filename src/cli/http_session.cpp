// HttpServer's connections (http_loop.hpp): one Session per accepted socket,
// the Responder that answers its request, and the loop's deadline sweep.
#include <algorithm>
#include <array>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>

#include "error_status.hpp"
#include "http_loop.hpp"
#include "http_wire.hpp"

namespace warmpool::cli {
namespace http_io {
namespace {

namespace http = beast::http;
constexpr auto kNoDeadline = Clock::time_point::max();
// Bytes the parser may leave unconsumed while it waits for the rest of one
// element. Beast streams bodies and caps the head itself, but keeps a chunk's
// size line (with its extensions) and the trailer whole, without a limit.
constexpr std::size_t kMaxUnparsedBytes = 64 * 1024;

}  // namespace

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

  // See stop_session().
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
  // loop: at once when the handler answered on the thread that runs the
  // loop (GET /healthz, errors, inline calls), else posted (also by a thread
  // that lost the loop while it was stuck in inline work).
  void deliver(HttpResponse response) {
    if (loop_.runs_on_this_thread()) {
      server_.answered();
      return write(std::move(response), !keep_alive_);
    }
    asio::post(loop_.io, [self = shared_from_this(), r = std::move(response)]() mutable {
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
      if (ec == http::error::need_more) {
        if (buffer_.size() > kMaxUnparsedBytes) return refuse_unparsed();
        break;
      }
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

  void refuse_unparsed() {
    respond_and_close(json_error(400, "bad_request",
                                 "bad request: a chunk size line or trailer longer than " +
                                     std::to_string(kMaxUnparsedBytes) +
                                     " bytes (chunk extensions and trailers are capped)"));
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

void start_session(tcp::socket socket, HttpServer::Impl& server, Loop& loop) {
  std::make_shared<Session>(std::move(socket), server, loop)->start();
}

void stop_session(Session& session) {
  session.stop();
}

}  // namespace http_io

using namespace http_io;

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

}  // namespace warmpool::cli
