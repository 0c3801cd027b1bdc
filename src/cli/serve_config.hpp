// `warmpool serve --config FILE`: the server and its plugins from one TOML
// file (toml++). Every key is checked: an unknown key, a wrong type or a
// value out of range is an error that names the file, line, column and key.
// Relative paths resolve against the config file's folder.
//
//   [server]
//   listen = "127.0.0.1:8080"
//   threads = 2
//   admin_listen = "127.0.0.1:9090"     # POST /admin/reload (off unless set)
//   watch = true                         # reload when a watched file changes
//
//   [[plugin]]
//   name = "markdown"
//   source = "plugins/markdown.wasm"     # .wasm, .wat, or an Extism manifest .json
//   engine = "v8"
//   [plugin.pool]
//   max = 4
//   policy = "reset"
//   [plugin.limits]
//   timeout_ms = 1000
//   [plugin.config]                       # Extism config for this plugin
//   vowels = "aeiou"
//
//   auto config = load_serve_config("warmpool.toml", defaults);
//   if (!config) { std::cerr << config.error() << '\n'; return 2; }
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "default_engine.hpp"
#include "listen_address.hpp"
#include "warmpool/pool_config.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::cli {

struct ServerSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t threads = 4;  // call threads
  std::size_t io_threads = 1;
  std::size_t max_body = 1 << 20;
  std::optional<std::size_t> max_connections;  // default: from the open-file limit
  std::size_t queue = 256;
  std::chrono::milliseconds acquire_timeout{1000};
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds drain_timeout{10'000};
  // POST /admin/reload is served here, never on `host:port`; none when unset.
  std::optional<ListenAddress> admin_listen;
  bool watch = false;  // reload when the config file or a plugin's source changes
  // Fast calls run on the I/O thread that parsed the request (HttpServer's
  // InlineWork) when the plugin has an idle call thread.
  bool inline_calls = false;
};

struct PluginSettings {
  std::string name;              // the route: /plugins/<name>/<export>
  std::filesystem::path source;  // resolved against the config file's folder
  std::string engine = default_engine();
  PoolConfig pool;                 // max defaults to the server's call threads
  bool no_pool = false;            // a fresh instance per request
  std::size_t server_threads = 4;  // call threads when there is no pool
  std::size_t queue = 256;         // requests that may wait for one of its call threads
  bool wasi = false;  // Extism plugins: provide WASI (bytes-ABI plugins always have it)
  wasm::Limits limits{.timeout = std::chrono::milliseconds(10'000), .max_memory_pages = 4096};
  std::map<std::string, std::string, std::less<>> config;  // Extism config
};

struct ServeConfig {
  ServerSettings server;
  std::vector<PluginSettings> plugins;
};

// Whether a reload may keep a plugin loaded with `running` when the config
// now says `next` (its source bytes are compared separately).
bool same_plugin_settings(const PluginSettings& running, const PluginSettings& next);

// The [server] keys whose change only a restart applies (listen,
// io_threads...), by name; `threads`, `queue` and `acquire_timeout_ms` are
// not among them: they are plugin defaults, copied into PluginSettings.
std::vector<std::string> restart_only_changes(const ServerSettings& running,
                                              const ServerSettings& next);

// Reads and checks `file`. `server_defaults` gives what [server] keys left
// out mean (the command line's defaults).
std::expected<ServeConfig, std::string> load_serve_config(const std::filesystem::path& file,
                                                          const ServerSettings& server_defaults);

// The same, from text; relative paths resolve against `folder`.
std::expected<ServeConfig, std::string> parse_serve_config(std::string_view text,
                                                           const std::string& file_name,
                                                           const std::filesystem::path& folder,
                                                           const ServerSettings& server_defaults);

}  // namespace warmpool::cli
