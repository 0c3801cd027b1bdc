#include "listen_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "message_text.hpp"

namespace warmpool::cli {
namespace {

constexpr std::string_view kExpected =
    "expected HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, localhost:8080)";

std::string quoted(std::string_view text) {
  return cat("'", text, "'");
}

bool is_ipv4(const std::string& host) {
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& host) {
  in6_addr address{};
  return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// RFC 1123 labels: letters, digits and inner hyphens, 1..63 characters each.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.back() == '.') host.remove_suffix(1);
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t end = std::min(host.find('.', start), host.size());
    std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    bool valid = std::ranges::all_of(
        label, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-'; });
    if (!valid) return false;
    start = end + 1;
  }
  return true;
}

std::expected<std::uint16_t, std::string> parse_port(std::string_view port, std::string_view text) {
  unsigned value = 0;
  const char* last = port.data() + port.size();
  auto [end, ec] = std::from_chars(port.data(), last, value);
  if (port.empty() || ec != std::errc{} || end != last || value > 65535) {
    return std::unexpected(
        cat("port must be 0..65535 (0: any free port), got ", quoted(port), " in ", quoted(text)));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text) {
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::unexpected(cat("missing ']' after the IPv6 address in ", quoted(text)));
    }
    std::string host(text.substr(1, close - 1));
    if (!is_ipv6(host)) {
      return std::unexpected(cat(quoted(host), " is not an IPv6 address, in ", quoted(text)));
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return std::unexpected(cat(kExpected, ": missing ':PORT' after ']' in ", quoted(text)));
    }
    auto port = parse_port(text.substr(close + 2), text);
    if (!port) return std::unexpected(port.error());
    return ListenAddress{std::move(host), *port};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected(cat(kExpected, ", got ", quoted(text)));
  }
  std::string host(text.substr(0, colon));
  if (host.find(':') != std::string::npos) {
    return std::unexpected(cat("an IPv6 address needs brackets: '[", host,
                               "]:", text.substr(colon + 1), "', got ", quoted(text)));
  }
  if (host.empty()) {
    return std::unexpected(
        cat("missing HOST in ", quoted(text),
            " (0.0.0.0 listens on every IPv4 interface, [::] on every IPv6 one)"));
  }
  const bool numeric = std::ranges::all_of(
      host, [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.'; });
  if (numeric ? !is_ipv4(host) : !is_host_name(host)) {
    return std::unexpected(cat(quoted(host),
                               numeric ? " is not an IPv4 address" : " is not a host name", ", in ",
                               quoted(text)));
  }
  auto port = parse_port(text.substr(colon + 1), text);
  if (!port) return std::unexpected(port.error());
  return ListenAddress{std::move(host), *port};
}

}  // namespace warmpool::cli
