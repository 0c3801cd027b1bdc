// `serve --config`: the TOML file's keys, defaults and errors (each naming
// the file, line, column and key).
#include "serve_config.hpp"

#include <gtest/gtest.h>

#include "warmpool/wasm/engine.hpp"

namespace warmpool::cli {
namespace {

using namespace std::chrono_literals;

ServerSettings command_line_defaults() {
  ServerSettings s;
  s.threads = 3;
  return s;
}

std::expected<ServeConfig, std::string> parse(std::string_view text) {
  return parse_serve_config(text, "w.toml", "/etc/wp", command_line_defaults());
}

TEST(ServeConfig, EveryKeyIsRead) {
  auto config = parse(R"(
[server]
listen = "[::1]:9090"
threads = 2
io_threads = 2
max_body = 4096
max_connections = 100
queue = 7
acquire_timeout_ms = 50
header_timeout_ms = 500
idle_timeout_ms = 600
drain_timeout_ms = 700
inline_calls = true

[[plugin]]
name = "markdown"
source = "plugins/markdown.wasm"
engine = "wabt"
wasi = true
[plugin.pool]
max = 4
warm = 2
policy = "reset"
acquire_timeout_ms = 100
queue = 9
[plugin.limits]
timeout_ms = 1000
fuel = 5000000
max_memory_pages = 64
[plugin.config]
vowels = "aeiou"

[[plugin]]
name = "echo"
source = "/abs/echo.wasm"
[plugin.pool]
none = true
)");
  ASSERT_TRUE(config.has_value()) << config.error();
  const ServerSettings& s = config->server;
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.port, 9090);
  EXPECT_EQ(s.threads, 2u);
  EXPECT_EQ(s.io_threads, 2u);
  EXPECT_EQ(s.max_body, 4096u);
  EXPECT_EQ(s.max_connections, 100u);
  EXPECT_EQ(s.queue, 7u);
  EXPECT_EQ(s.acquire_timeout, 50ms);
  EXPECT_EQ(s.header_timeout, 500ms);
  EXPECT_EQ(s.idle_timeout, 600ms);
  EXPECT_EQ(s.drain_timeout, 700ms);
  EXPECT_TRUE(s.inline_calls);
  ASSERT_EQ(config->plugins.size(), 2u);
  const PluginSettings& md = config->plugins[0];
  EXPECT_EQ(md.name, "markdown");
  EXPECT_EQ(md.source, std::filesystem::path("/etc/wp/plugins/markdown.wasm"));
  EXPECT_EQ(md.engine, "wabt");
  EXPECT_TRUE(md.wasi);
  EXPECT_EQ(md.pool.max_instances, 4u);
  EXPECT_EQ(md.pool.warm_count, 2u);
  EXPECT_EQ(md.pool.recycle, Recycle::Reset);
  EXPECT_EQ(md.pool.acquire_timeout, 100ms);
  EXPECT_EQ(md.queue, 9u);
  EXPECT_EQ(md.limits.timeout, 1000ms);
  EXPECT_EQ(md.limits.fuel, 5'000'000u);
  EXPECT_EQ(md.limits.max_memory_pages, 64u);
  EXPECT_EQ(md.config.at("vowels"), "aeiou");
  EXPECT_EQ(config->plugins[1].source, std::filesystem::path("/abs/echo.wasm"));
  EXPECT_TRUE(config->plugins[1].no_pool);
}

TEST(ServeConfig, WhatIsLeftOutTakesTheDocumentedDefaults) {
  auto config = parse("[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n");
  ASSERT_TRUE(config.has_value()) << config.error();
  const ServerSettings& s = config->server;
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.threads, 3u);  // the command line's
  EXPECT_EQ(s.queue, 256u);
  const PluginSettings& p = config->plugins[0];
  // Serving defaults to V8 where the build has it (README "Engines and plugins").
  EXPECT_EQ(p.engine, wasm::Engine::named("v8") ? "v8" : "wabt");
  EXPECT_FALSE(p.wasi);
  EXPECT_FALSE(p.no_pool);
  EXPECT_EQ(p.pool.max_instances, 3u);  // the server's call threads
  EXPECT_EQ(p.pool.warm_count, 3u);
  EXPECT_EQ(p.pool.recycle, Recycle::Reuse);
  EXPECT_EQ(p.pool.acquire_timeout, s.acquire_timeout);
  EXPECT_EQ(p.queue, 256u);  // the server's
  EXPECT_EQ(p.limits.timeout, 10'000ms);
  EXPECT_EQ(p.limits.max_memory_pages, 4096u);
  EXPECT_EQ(p.limits.fuel, 0u);
  EXPECT_EQ(p.source, std::filesystem::path("/etc/wp/echo.wasm"));
}

TEST(ServeConfig, ErrorsNameFileLineColumnAndKey) {
  const std::string plugin = "[[plugin]]\nname = \"a\"\nsource = \"a.wasm\"\n";
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {"[server]\nlisen = \"x\"\n" + plugin, "w.toml:2:9: server.lisen: unknown key (known here:"},
      {"[server]\nthreads = \"2\"\n" + plugin,
       "w.toml:2:11: server.threads: expected an integer, got a string"},
      {"[server]\nthreads = 0\n" + plugin,
       "w.toml:2:11: server.threads: expected an integer from 1 to 1024, got 0"},
      {"[server]\nlisten = \"::1:80\"\n" + plugin, "w.toml:2:10: server.listen: "},
      {plugin + "[plugin.pool]\nmax = 2\nwarm = 3\n",
       "plugin[0].pool.warm: warm 3 is more than max 2"},
      {plugin + "[plugin.pool]\npolicy = \"sometimes\"\n",
       "plugin[0].pool.policy: expected reuse, reset or fresh, got 'sometimes'"},
      {plugin + "[plugin.limits]\ntimeout = 5\n", "plugin[0].limits.timeout: unknown key"},
      {plugin + "[plugin.config]\nn = 5\n",
       "plugin[0].config.n: expected a string, got an integer"},
      {plugin + "engine = \"wasmtime\"\n", "plugin[0].engine: no engine 'wasmtime' in this build"},
      {plugin + plugin, "w.toml:4:1: plugin[1].name: 'a' names two plugins"},
      {"[[plugin]]\nsource = \"a.wasm\"\n", "w.toml:1:1: plugin[0]: 'name' is required"},
      {"[[plugin]]\nname = \"a\"\n", "plugin[0]: 'source' is required"},
      {"[[plugin]]\nname = \"a/b\"\nsource = \"a.wasm\"\n",
       "plugin[0].name: 'a/b' may not contain"},
      {"[server]\nthreads = 2\n", "w.toml: no [[plugin]]"},
      {"plugin = 3\n", "w.toml:1:10: plugin: expected [[plugin]] tables"},
      {"[server\n", "w.toml:1:"},
  };
  for (const auto& c : cases) {
    auto config = parse(c.text);
    ASSERT_FALSE(config.has_value()) << c.text;
    EXPECT_NE(config.error().find(c.message), std::string::npos)
        << "config:\n"
        << c.text << "\nerror: " << config.error() << "\nwanted: " << c.message;
  }
}

TEST(ServeConfig, AMissingFileIsAnErrorNamingIt) {
  auto config = load_serve_config("/nonexistent/w.toml", command_line_defaults());
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().find("/nonexistent/w.toml"), std::string::npos) << config.error();
}

}  // namespace
}  // namespace warmpool::cli
