// What `warmpool serve` does once its plugins are loaded: route HTTP
// requests to them through the admission queue, and stop gracefully.
//
//   POST /plugins/<name>/<export>   a plugin's export (bytes in, bytes out)
//   POST /call/<export>             the same for the one plugin given by flags
//   GET  /plugins                   every plugin: kind, engine, exports, sha256, pool
//   GET  /healthz, GET /metrics     liveness; Prometheus text, pools labelled by plugin
//
//   auto server = HttpServer::bind(...);                       // before loading plugins
//   return serve_plugins(**server, config.server, plugins, {.call_route_plugin = "echo"});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_server.hpp"
#include "serve_config.hpp"
#include "served_plugin.hpp"

namespace warmpool::cli {

struct ServeRoutes {
  // The plugin that also answers POST /call/<export> (the flags' shortcut).
  std::optional<std::string> call_route_plugin;
};

// The connection cap when none is given: the open-file limit minus a
// reserve for the server's own files, at most 10,000.
std::size_t default_max_connections();

// Listens, serves until SIGINT/SIGTERM, drains; returns the exit code.
int serve_plugins(HttpServer& server, const ServerSettings& settings,
                  std::vector<std::unique_ptr<ServedPlugin>>& plugins, const ServeRoutes& routes);

}  // namespace warmpool::cli
