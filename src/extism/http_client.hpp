// One HTTP/1.1 exchange for the Extism kernel's http_request: Boost.Beast over
// TCP, or over TLS (OpenSSL, peer certificates verified against the system CA
// store, SNI and host name checked) for https URLs. The CA store is OpenSSL's
// default verify paths, read once, at the process's first https request: the
// environment variables SSL_CERT_FILE and SSL_CERT_DIR name a CA file and a
// CA directory in place of the system's (how a host trusts a private CA; the
// https tests trust theirs this way).
// Redirects and the allowed_hosts check are the caller's (src/extism/http.cpp).
//
//   auto url = internal::HttpUrl::parse("http://127.0.0.1:8080/items?id=3");
//   if (!url) return std::unexpected(url.error());            // bad URL or scheme
//   auto response = internal::http_exchange({.method = "GET", .url = *url,
//       .max_body_bytes = 1 << 20, .deadline = std::chrono::steady_clock::now() + 2s});
//   if (response) use(response->status, response->body);
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warmpool::extism::internal {

// An absolute http:// or https:// URL taken apart.
struct HttpUrl {
  std::string text;  // as given
  bool tls = false;
  std::string host;    // without IPv6 brackets
  std::string port;    // explicit, else 80 or 443
  std::string target;  // path and query, "/" at least; the fragment is dropped

  // Errors: not an absolute URL, a scheme other than http/https, no host, a bad port.
  static std::expected<HttpUrl, std::string> parse(std::string_view url);
  // `location` (a redirect's Location header) resolved against this URL.
  std::string resolve(std::string_view location) const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpExchangeRequest {
  std::string method = "GET";
  HttpUrl url;
  HttpHeaders headers;
  std::string body;
  std::uint64_t max_body_bytes = 0;  // a longer response body is an error naming this cap
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct HttpExchangeResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased, in the order received
  std::string body;
};

// Errors (the URL is not repeated in them): the host cannot be resolved, the
// connection is refused or fails, the TLS handshake or certificate check fails
// (with OpenSSL's reason for refusing the certificate, e.g. "hostname mismatch"),
// the deadline passes ("timeout: ..."), the body exceeds max_body_bytes
// ("... exceeds memory.max_http_response_bytes (N bytes)"), a malformed response.
std::expected<HttpExchangeResponse, std::string> http_exchange(const HttpExchangeRequest& request);

}  // namespace warmpool::extism::internal
