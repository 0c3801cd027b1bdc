// What a reload reads from `serve --config`: the [server] keys admin_listen
// and watch, which plugin settings count as a change, and which [server]
// changes only a restart applies.
#include <gtest/gtest.h>

#include "serve_config.hpp"

namespace warmpool::cli {
namespace {

std::expected<ServeConfig, std::string> parse(std::string_view server_keys,
                                              std::string_view plugin_keys = "") {
  const std::string text = "[server]\n" + std::string(server_keys) +
                           "\n[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n" +
                           std::string(plugin_keys);
  return parse_serve_config(text, "w.toml", "/etc/wp", ServerSettings{});
}

TEST(ServeReloadConfig, AdminListenAndWatchAreOffUnlessSet) {
  auto config = parse("");
  ASSERT_TRUE(config) << config.error();
  EXPECT_FALSE(config->server.admin_listen);
  EXPECT_FALSE(config->server.watch);

  config = parse("admin_listen = \"127.0.0.1:9901\"\nwatch = true");
  ASSERT_TRUE(config) << config.error();
  ASSERT_TRUE(config->server.admin_listen);
  EXPECT_EQ(config->server.admin_listen->host, "127.0.0.1");
  EXPECT_EQ(config->server.admin_listen->port, 9901);
  EXPECT_TRUE(config->server.watch);
}

TEST(ServeReloadConfig, BadAdminListenOrWatchNamesTheKey) {
  auto config = parse("admin_listen = \"::1:9901\"");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().find("w.toml:2:16: server.admin_listen: "), std::string::npos)
      << config.error();
  config = parse("watch = \"yes\"");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error(), "w.toml:2:9: server.watch: expected true or false");
}

TEST(ServeReloadConfig, AnyPluginSettingCountsAsAChange) {
  const PluginSettings base = parse("")->plugins.at(0);
  EXPECT_TRUE(same_plugin_settings(base, parse("")->plugins.at(0)));
  for (std::string_view changed :
       {"engine = \"wabt\"\nwasi = true\n", "[plugin.pool]\nmax = 2\n",
        "[plugin.pool]\npolicy = \"fresh\"\n", "[plugin.pool]\nacquire_timeout_ms = 5\n",
        "[plugin.pool]\nqueue = 1\n", "[plugin.pool]\nnone = true\n",
        "[plugin.limits]\nfuel = 100\n", "[plugin.limits]\ntimeout_ms = 5\n",
        "[plugin.limits]\nmax_memory_pages = 5\n", "[plugin.config]\nk = \"v\"\n"}) {
    auto next = parse("", changed);
    ASSERT_TRUE(next) << next.error();
    EXPECT_FALSE(same_plugin_settings(base, next->plugins.at(0))) << changed;
  }
  // A server default a plugin inherits is its setting too.
  EXPECT_FALSE(same_plugin_settings(base, parse("threads = 9")->plugins.at(0)));
}

TEST(ServeReloadConfig, ListenerKeysNeedARestart) {
  const ServerSettings running = parse("")->server;
  EXPECT_TRUE(restart_only_changes(running, parse("threads = 9\nqueue = 3")->server).empty());
  EXPECT_EQ(
      restart_only_changes(running, parse("listen = \"127.0.0.1:1\"\nio_threads = 2\nmax_body = 1\n"
                                          "max_connections = 1\nheader_timeout_ms = 1\n"
                                          "idle_timeout_ms = 1\ndrain_timeout_ms = 1\n"
                                          "admin_listen = \"127.0.0.1:2\"\nwatch = true\n"
                                          "inline_calls = true")
                                        ->server),
      (std::vector<std::string>{"listen", "io_threads", "max_body", "max_connections",
                                "header_timeout_ms", "idle_timeout_ms", "drain_timeout_ms",
                                "admin_listen", "watch", "inline_calls"}));
}

}  // namespace
}  // namespace warmpool::cli
