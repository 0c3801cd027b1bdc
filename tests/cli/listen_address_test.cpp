// serve --listen HOST:PORT: IPv4 literals, bracketed IPv6 literals and host
// names, with errors that say what is wrong.
#include "listen_address.hpp"

#include <gtest/gtest.h>

namespace warmpool::cli {
namespace {

TEST(ListenAddress, Accepted) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (const auto& c :
       {Case{"127.0.0.1:8080", "127.0.0.1", 8080}, Case{"0.0.0.0:0", "0.0.0.0", 0},
        Case{"localhost:0", "localhost", 0}, Case{"localhost:65535", "localhost", 65535},
        Case{"[::1]:0", "::1", 0}, Case{"[::1]:8080", "::1", 8080}, Case{"[::]:80", "::", 80},
        Case{"[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1},
        Case{"my-host.example.org:443", "my-host.example.org", 443},
        Case{"example.org.:443", "example.org.", 443}}) {
    auto address = parse_listen_address(c.text);
    ASSERT_TRUE(address.has_value()) << c.text << ": " << address.error();
    EXPECT_EQ(address->host, c.host) << c.text;
    EXPECT_EQ(address->port, c.port) << c.text;
  }
}

TEST(ListenAddress, RejectedWithAReason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const auto& c : {
           Case{"::1:8080", "an IPv6 address needs brackets: '[::1]:8080'"},
           Case{"localhost",
                "expected HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, localhost:8080)"},
           Case{"", "expected HOST:PORT"},
           Case{":8080", "missing HOST in ':8080'"},
           Case{"localhost:", "port must be 0..65535"},
           Case{"localhost:65536", "port must be 0..65535 (0: any free port), got '65536'"},
           Case{"localhost:-1", "port must be 0..65535"},
           Case{"localhost:80x", "port must be 0..65535"},
           Case{"300.1.1.1:80", "'300.1.1.1' is not an IPv4 address"},
           Case{"1.2.3:80", "'1.2.3' is not an IPv4 address"},
           Case{"bad_host:80", "'bad_host' is not a host name"},
           Case{"-host:80", "'-host' is not a host name"},
           Case{"a..b:80", "'a..b' is not a host name"},
           Case{"[::1:8080", "missing ']'"},
           Case{"[::1]", "missing ':PORT' after ']'"},
           Case{"[::1]8080", "missing ':PORT' after ']'"},
           Case{"[127.0.0.1]:80", "'127.0.0.1' is not an IPv6 address"},
           Case{"[]:80", "'' is not an IPv6 address"},
       }) {
    auto address = parse_listen_address(c.text);
    ASSERT_FALSE(address.has_value()) << c.text;
    EXPECT_NE(address.error().find(c.reason), std::string::npos)
        << "'" << c.text << "'\nwant: " << c.reason << "\ngot: " << address.error();
  }
}

}  // namespace
}  // namespace warmpool::cli
