// One HTTP/1.1 exchange on Boost.Beast, driven as a coroutine on a private
// io_context so that every step (resolve, connect, TLS handshake, send,
// receive) stops at the plugin's deadline.
#include "http_client.hpp"

// Boost 1.74 turns co_await on for clang only with <experimental/coroutine>;
// clang with libstdc++ (the fuzz build) has the standard <coroutine>. Its
// awaitable.hpp also uses std::exchange without including <utility>.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#include <utility>
// (the includes above must come first)
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <stdexcept>

namespace warmpool::extism::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The host and port as the Host header and an origin write them.
std::string authority(const HttpUrl& url, bool always_port) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  const bool default_port = url.port == (url.tls ? "443" : "80");
  return always_port || !default_port ? host + ":" + url.port : host;
}

// Loaded once: reading the system CA store costs milliseconds.
asio::ssl::context& tls_context() {
  static asio::ssl::context context = [] {
    asio::ssl::context c(asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(asio::ssl::verify_peer);
    return c;
  }();
  return context;
}

enum class Stage { resolve, connect, handshake, send, receive };

struct Exchange {
  const HttpExchangeRequest& request;
  Stage stage = Stage::resolve;
  HttpExchangeResponse response;
  // Why the peer's certificate was refused, when a handshake failed on it.
  long verify_result = X509_V_OK;
};

http::request<http::string_body> request_message(const HttpExchangeRequest& r) {
  http::request<http::string_body> message;
  message.method_string(r.method);
  message.target(r.url.target);
  message.version(11);
  message.set(http::field::host, authority(r.url, false));
  message.set(http::field::user_agent, "warmpool");
  for (const auto& [name, value] : r.headers) message.set(name, value);
  // One exchange per connection: the server may close as soon as it answered.
  message.set(http::field::connection, "close");
  message.body() = r.body;
  message.prepare_payload();
  return message;
}

void expire_at_deadline(beast::tcp_stream& stream, const Exchange& x) {
  if (x.request.deadline) {
    stream.expires_at(*x.request.deadline);
  } else {
    stream.expires_never();
  }
}

template <class Stream>
asio::awaitable<void> send_and_receive(Stream& stream, Exchange& x) {
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
  x.stage = Stage::send;
  auto message = request_message(x.request);
  expire_at_deadline(tcp_layer, x);
  co_await http::async_write(stream, message, asio::use_awaitable);

  x.stage = Stage::receive;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(x.request.max_body_bytes);
  parser.header_limit(kMaxHeaderBytes);
  if (x.request.method == "HEAD") parser.skip(true);
  expire_at_deadline(tcp_layer, x);
  co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
  // Beast 1.74 compares a Content-Length with its optional body limit in a
  // way that never fails, so that case is checked here; chunked bodies and
  // bodies that run to the end of the connection are limited by the parser.
  if (auto length = parser.content_length(); length && *length > x.request.max_body_bytes) {
    throw boost::system::system_error(http::error::body_limit);
  }
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  auto& response = parser.get();
  x.response.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    const auto name = field.name_string();
    const auto value = field.value();
    x.response.headers.emplace_back(lower({name.data(), name.size()}),
                                    std::string(value.data(), value.size()));
  }
  x.response.body = std::move(response.body());
}

// Tells OpenSSL what the server's certificate must name. Should OpenSSL refuse
// one of these, the certificate would go unchecked against the host and any
// certificate from a trusted CA would do, so the exchange fails instead.
void expect_certificate_for(SSL* ssl, const HttpUrl& url) {
  auto require = [&url](long accepted, const char* as_what) {
    if (accepted == 1) return;
    std::string message = "cannot check the certificate of " + authority(url, true) +
                          ": OpenSSL does not take \"" + url.host + "\" as " + as_what;
    // A scoped IPv6 literal (fe80::1%eth0) is no address a certificate can name.
    if (url.host.find('%') != std::string::npos) message += " (an IPv6 zone id is not supported)";
    throw std::runtime_error(message);
  };
  if (is_ip_literal(url.host)) {
    require(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str()), "an IP address");
  } else {
    require(SSL_set_tlsext_host_name(ssl, url.host.c_str()), "a server name (SNI)");
    require(SSL_set1_host(ssl, url.host.c_str()), "a host name");
  }
}

asio::awaitable<void> run_exchange(Exchange& x) {
  const HttpUrl& url = x.request.url;
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  x.stage = Stage::connect;
  if (!url.tls) {
    beast::tcp_stream stream(executor);
    expire_at_deadline(stream, x);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_await send_and_receive(stream, x);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(executor, tls_context());
  SSL* ssl = stream.native_handle();
  expect_certificate_for(ssl, url);
  expire_at_deadline(beast::get_lowest_layer(stream), x);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  x.stage = Stage::handshake;
  expire_at_deadline(beast::get_lowest_layer(stream), x);
  boost::system::error_code handshake_error;
  co_await stream.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, handshake_error));
  if (handshake_error) {
    x.verify_result = SSL_get_verify_result(ssl);
    throw boost::system::system_error(handshake_error);
  }
  co_await send_and_receive(stream, x);
  // No TLS close_notify exchange: the request said Connection: close and
  // many servers never answer one, which would only cost time.
}

std::string timeout_message() {
  return "timeout: no complete response within the plugin's timeout_ms";
}

std::string failure_message(const Exchange& x, const boost::system::error_code& ec) {
  const HttpUrl& url = x.request.url;
  if (ec == beast::error::timeout) return timeout_message();
  switch (x.stage) {
    case Stage::resolve: return "cannot resolve host \"" + url.host + "\": " + ec.message();
    case Stage::connect: return "cannot connect to " + authority(url, true) + ": " + ec.message();
    case Stage::handshake: {
      std::string message =
          "TLS handshake with " + authority(url, true) + " failed: " + ec.message();
      // OpenSSL's error only says "certificate verify failed"; the check's result says why.
      if (x.verify_result != X509_V_OK) {
        message +=
            std::string("; the certificate: ") + X509_verify_cert_error_string(x.verify_result);
      }
      return message;
    }
    case Stage::send: return "sending the request failed: " + ec.message();
    case Stage::receive:
      if (ec == http::error::body_limit) {
        return "the response body exceeds memory.max_http_response_bytes (" +
               std::to_string(x.request.max_body_bytes) + " bytes)";
      }
      return "reading the response failed: " + ec.message();
  }
  return ec.message();
}

bool valid_port(std::string_view port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !port.empty() && ec == std::errc() && end == port.data() + port.size() && value >= 1 &&
         value <= 65535;
}

}  // namespace

std::expected<HttpUrl, std::string> HttpUrl::parse(std::string_view url) {
  if (std::ranges::any_of(url, [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    return std::unexpected("not a valid URL: it contains a space or a control character");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return std::unexpected("not a valid URL: expected scheme://host/path");
  }
  const std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return std::unexpected("unsupported URL scheme \"" + scheme + "\" (only http and https)");
  }
  HttpUrl parsed;
  parsed.text = std::string(url);
  parsed.tls = scheme == "https";
  std::string_view rest = url.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  std::string_view host_port = rest.substr(0, authority_end);
  if (auto at = host_port.rfind('@'); at != std::string_view::npos) {
    host_port = host_port.substr(at + 1);
  }
  std::string_view port;
  if (host_port.starts_with('[')) {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos) return std::unexpected("not a valid URL: unclosed '['");
    parsed.host = std::string(host_port.substr(1, close - 1));
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      return std::unexpected("not a valid URL: unexpected text after ']'");
    }
    port = after.empty() ? after : after.substr(1);
  } else {
    const auto colon = host_port.find(':');
    parsed.host = std::string(host_port.substr(0, colon));
    if (colon != std::string_view::npos) port = host_port.substr(colon + 1);
  }
  if (parsed.host.empty()) return std::unexpected("not a valid URL: no host");
  if (port.empty()) {
    parsed.port = parsed.tls ? "443" : "80";
  } else if (valid_port(port)) {
    parsed.port = std::string(port);
  } else {
    return std::unexpected("not a valid URL: bad port \"" + std::string(port) + "\"");
  }
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  parsed.target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  return parsed;
}

std::string HttpUrl::resolve(std::string_view location) const {
  const auto scheme_end = location.find("://");
  if (scheme_end != std::string_view::npos && location.find('/') > scheme_end) {
    return std::string(location);
  }
  const std::string scheme = tls ? "https:" : "http:";
  if (location.starts_with("//")) return scheme + std::string(location);
  const std::string origin = scheme + "//" + authority(*this, false);
  if (location.starts_with('/')) return origin + std::string(location);
  const std::string path = target.substr(0, target.find('?'));
  return origin + path.substr(0, path.rfind('/') + 1) + std::string(location);
}

std::expected<HttpExchangeResponse, std::string> http_exchange(const HttpExchangeRequest& request) {
  if (request.deadline && std::chrono::steady_clock::now() >= *request.deadline) {
    return std::unexpected(timeout_message());
  }
  asio::io_context io;
  Exchange exchange{request, Stage::resolve, {}};
  bool finished = false;
  std::string failure;
  asio::co_spawn(io, run_exchange(exchange), [&](std::exception_ptr error) {
    finished = true;
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      failure = failure_message(exchange, e.code());
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (request.deadline) {
    // Beast's timers cover connect, handshake, send and receive; this also
    // bounds name resolution, which they do not.
    io.run_until(*request.deadline);
  } else {
    io.run();
  }
  if (!finished) return std::unexpected(timeout_message());
  if (!failure.empty()) return std::unexpected(failure);
  return std::move(exchange.response);
}

}  // namespace warmpool::extism::internal
