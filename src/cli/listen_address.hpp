// `serve --listen HOST:PORT`, split and checked (not resolved: serve resolves
// the host when it binds).
//
//   parse_listen_address("127.0.0.1:8080")  -> {"127.0.0.1", 8080}
//   parse_listen_address("[::1]:8080")      -> {"::1", 8080}
//   parse_listen_address("localhost:0")     -> {"localhost", 0}   (0: any free port)
//   parse_listen_address("::1:8080")        -> error: IPv6 needs brackets, "[::1]:8080"
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace warmpool::cli {

struct ListenAddress {
  std::string host;  // an IPv4 literal, an IPv6 literal without brackets, or a host name
  std::uint16_t port = 0;
};

// HOST may be an IPv4 literal, a bracketed IPv6 literal or a host name; PORT
// is 0..65535. The error says what is wrong with `text` and quotes it.
std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text);

}  // namespace warmpool::cli
