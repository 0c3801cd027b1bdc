#include "http_client.hpp"

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace warmpool::cli::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

struct HttpClient::Impl {
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool connected = false;
};

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

std::expected<void, std::string> HttpClient::connect() {
  Impl& s = *impl_;
  if (s.connected) return {};
  beast::error_code ec;
  s.socket = tcp::socket(s.io);
  s.socket.connect({asio::ip::make_address("127.0.0.1"), s.port}, ec);
  if (ec) return std::unexpected("connect: " + ec.message());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(s.timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(s.timeout.count() % 1000 * 1000);
  ::setsockopt(s.socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  s.socket.set_option(tcp::no_delay(true));
  s.buffer.clear();
  s.connected = true;
  return {};
}

std::expected<HttpReply, std::string> HttpClient::request(const std::string& method,
                                                          const std::string& target,
                                                          const std::string& body) {
  Impl& s = *impl_;
  if (auto c = connect(); !c) return std::unexpected(c.error());
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  http::write(s.socket, req, ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (!ec) http::read(s.socket, s.buffer, parser, ec);
  if (ec) {
    s.connected = false;
    return std::unexpected(method + " " + target + ": " + ec.message());
  }
  auto& res = parser.get();
  HttpReply reply{res.result_int(), std::move(res.body()), {}};
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = std::string(field.value());
  }
  if (!res.keep_alive()) {
    s.socket.close(ec);
    s.connected = false;
  }
  return reply;
}

bool can_connect(std::uint16_t port) {
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

}  // namespace warmpool::cli::test
