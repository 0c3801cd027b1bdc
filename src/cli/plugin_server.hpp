// What `warmpool serve` does once its plugins are loaded: route HTTP
// requests to them through the admission queue, and stop gracefully.
//
//   POST /plugins/<name>/<export>   a plugin's export (bytes in, bytes out)
//   POST /call/<export>             the same for the one plugin given by flags
//   GET  /plugins                   every plugin: kind, engine, exports, sha256, pool
//   GET  /healthz, GET /metrics     liveness; Prometheus text, pools labelled by plugin
//   POST /admin/reload              on the admin listener only (reloader.hpp)
//
// Reloads come from SIGHUP, POST /admin/reload and, with [server] watch, a
// change to the config file or a plugin's source.
//
//   auto server = HttpServer::bind(...);                       // before loading plugins
//   return serve_plugins(**server, nullptr, config, std::move(plugins),
//                        {.call_route_plugin = "echo"}, {.read_config = reread});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_server.hpp"
#include "reloader.hpp"
#include "serve_config.hpp"
#include "served_plugin.hpp"

namespace warmpool::cli {

struct ServeRoutes {
  // The plugin that also answers POST /call/<export> (the flags' shortcut).
  std::optional<std::string> call_route_plugin;
};

struct ServeReload {
  // The config as it is now (the file re-read, the command line's flags applied).
  Reloader::ReadConfig read_config;
  // Watched with [server] watch, besides the plugins' sources.
  std::optional<std::filesystem::path> config_file;
};

// The connection cap when none is given: the open-file limit minus a
// reserve for the server's own files, at most 10,000.
std::size_t default_max_connections();

// Listens (and on `admin`, if any), serves until SIGINT/SIGTERM, drains;
// returns the exit code. `plugins` were loaded from `config`.
int serve_plugins(HttpServer& server, HttpServer* admin, const ServeConfig& config,
                  std::vector<std::unique_ptr<ServedPlugin>> plugins, const ServeRoutes& routes,
                  ServeReload reload);

}  // namespace warmpool::cli
