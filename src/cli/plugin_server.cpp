#include "plugin_server.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "diagnostics.hpp"
#include "error_status.hpp"
#include "file_watch.hpp"
#include "http_metrics.hpp"
#include "plugin_versions.hpp"
#include "pool_flags.hpp"
#include "url_path.hpp"
#include "warmpool/wasm/interrupt.hpp"

namespace warmpool::cli {
namespace {

// Descriptors the server keeps for itself beyond its connections: the
// plugins' files, the engines, the pools' threads, stdio.
constexpr std::size_t kReservedDescriptors = 64;
constexpr std::size_t kMostDefaultConnections = 10'000;
// Long enough that a copy written in several steps reloads once.
constexpr auto kWatchDebounce = std::chrono::milliseconds(200);

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

HttpResponse busy_response(std::string message) {
  HttpResponse r = json_error(503, "resource_limit", std::move(message));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse wrong_method(const std::string& path, std::string_view allowed) {
  HttpResponse r = json_error(405, "method_not_allowed",
                              path + " takes " + std::string(allowed.substr(0, allowed.find(','))));
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

// The call, its duration told to the plugin's queue (which decides from
// them whether calls may run inline).
HttpResponse timed_call(PluginVersion& version, const std::string& export_name,
                        const std::string& body) {
  const auto start = std::chrono::steady_clock::now();
  HttpResponse response = version.plugin->call(export_name, body);
  version.calls->record_call(std::chrono::steady_clock::now() - start);
  return response;
}

// Routes requests by the reloader's current table; each plugin's calls go
// through its own queue to its own call threads. A request holds the version
// it was routed to until it is answered, whatever reloads happen meanwhile.
class Router {
 public:
  Router(const Reloader& reloader, const PluginVersions& versions, const ServeRoutes& routes,
         const HttpServerStats& server_stats, bool inline_calls)
      : reloader_(reloader),
        versions_(versions),
        routes_(routes),
        server_stats_(server_stats),
        inline_calls_(inline_calls) {}

  void handle(HttpRequest req, Responder respond) {
    const std::string path = path_of(req.target);
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/healthz" || path == "/metrics" || path == "/plugins") {
      if (!get) return respond(wrong_method(path, "GET, HEAD"));
      if (path == "/healthz") return respond({.status = 200, .body = "ok\n"});
      if (path == "/plugins") return respond(plugin_list());
      return respond({.status = 200,
                      .body = metrics_text(),
                      .content_type = "text/plain; version=0.0.4; charset=utf-8"});
    }
    const std::shared_ptr<const RoutingTable> table = reloader_.table();
    const Route* route = nullptr;
    std::string_view encoded_export;
    if (path.starts_with("/plugins/")) {
      const std::string_view rest = std::string_view(path).substr(9);
      const auto slash = rest.find('/');
      auto name = percent_decode(rest.substr(0, slash));
      if (!name) {
        return respond(json_error(400, "bad_request", "bad path '" + path + "': " + name.error()));
      }
      route = table->find(*name);
      if (route == nullptr) {
        return respond(json_error(404, "not_found",
                                  "no plugin '" + *name + "' (plugins: " + table->names() + ")"));
      }
      if (slash == std::string_view::npos) {
        return respond(
            json_error(404, "not_found",
                       "no export in '" + path + "' (POST /plugins/" + *name + "/<export>)"));
      }
      encoded_export = rest.substr(slash + 1);
    } else if (path.starts_with("/call/") && routes_.call_route_plugin &&
               (route = table->find(*routes_.call_route_plugin)) != nullptr) {
      encoded_export = std::string_view(path).substr(6);
    } else {
      return respond(json_error(404, "not_found",
                                "no route for " + req.method + " " + path + " (try " +
                                    (routes_.call_route_plugin ? "POST /call/<export>, " : "") +
                                    "POST /plugins/<name>/<export>, GET /plugins, GET /metrics, "
                                    "GET /healthz)"));
    }
    auto decoded = percent_decode(encoded_export);
    if (!decoded) {
      return respond(json_error(400, "bad_request", "bad path '" + path + "': " + decoded.error()));
    }
    if (req.method != "POST") return respond(wrong_method(path, "POST"));
    const std::shared_ptr<PluginVersion>& version = route->version;
    if (auto refused = version->plugin->refuse_export(*decoded)) {
      return respond(std::move(*refused));
    }
    // Inline: no call thread to wake and no answer to post back, which was
    // most of a fast call's cost; the server gives the loop another thread
    // if the call runs long (InlineWork).
    if (inline_calls_ && InlineWork::available() && version->calls->take_place()) {
      HttpResponse response;
      {
        InlineWork on_loop;
        response = timed_call(*version, *decoded, req.body);
      }
      version->calls->release_place();
      return respond(std::move(response));
    }
    const bool queued = version->calls->submit(
        [version, respond, name = std::move(*decoded), body = std::move(req.body),
         timed = inline_calls_] {
          respond(timed ? timed_call(*version, name, body) : version->plugin->call(name, body));
        },
        [version, respond] { respond(busy_response(version->wait_message)); });
    if (!queued) respond(busy_response(version->full_message));
  }

  void record(unsigned status, std::chrono::nanoseconds elapsed) {
    http_metrics_.record(status, elapsed);
  }

 private:
  HttpResponse plugin_list() const {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    // Held for the loop: a range-for keeps no temporary of its range's
    // expression alive but the last, and a reload may drop the table meanwhile.
    const std::shared_ptr<const RoutingTable> table = reloader_.table();
    for (const Route& route : table->routes()) {
      nlohmann::ordered_json entry = route.version->plugin->describe();
      entry["last_reload"] = nullptr;
      if (const auto& r = route.last_reload) {
        entry["last_reload"] = {{"at", r->at}, {"result", r->result}, {"error", r->error}};
      }
      list.push_back(std::move(entry));
    }
    return {.status = 200, .body = list.dump(2) + "\n", .content_type = "application/json"};
  }

  std::string metrics_text() const {
    std::vector<std::string> texts;
    const std::shared_ptr<const RoutingTable> table = reloader_.table();  // as in plugin_list()
    for (const Route& route : table->routes()) {
      const ServedPlugin& plugin = *route.version->plugin;
      texts.push_back(plugin.metrics_text());
      texts.push_back(route.version->calls->to_prometheus(plugin.name()));
    }
    texts.push_back(http_metrics_.to_prometheus());
    texts.push_back(to_prometheus(server_stats_));
    texts.push_back(reloader_.to_prometheus());
    texts.push_back(versions_.to_prometheus());
    return merge_prometheus(texts);
  }

  const Reloader& reloader_;
  const PluginVersions& versions_;
  const ServeRoutes& routes_;
  const HttpServerStats& server_stats_;
  const bool inline_calls_;
  HttpMetrics http_metrics_;
};

// The admin listener's one route. Plugin routes are not served here, and
// /admin/* is not served on the plugins' listener.
void handle_admin(Reloader& reloader, const HttpRequest& req, const Responder& respond) {
  const std::string path = path_of(req.target);
  if (path != "/admin/reload") {
    return respond(json_error(404, "not_found",
                              "no route for " + req.method + " " + path +
                                  " (the admin listener serves POST /admin/reload)"));
  }
  if (req.method != "POST") return respond(wrong_method(path, "POST"));
  reloader.request("POST /admin/reload", [respond](const ReloadReport& report) {
    respond({.status = report.http_status(),
             .body = report.to_json().dump(2) + "\n",
             .content_type = "application/json"});
  });
}

// SIGHUP is blocked in every thread (serve.cpp blocks it before any starts);
// this thread takes it synchronously, so the reload never runs in a handler.
void reload_on_hangup(const std::stop_token& stop, Reloader& reloader) {
  sigset_t hangup;
  sigemptyset(&hangup);
  sigaddset(&hangup, SIGHUP);
  const timespec poll_interval{.tv_sec = 0, .tv_nsec = 100'000'000};
  while (!stop.stop_requested()) {
    if (sigtimedwait(&hangup, nullptr, &poll_interval) == SIGHUP) {
      reloader.request("SIGHUP", [](const ReloadReport&) {});
    }
  }
}

// [server] watch: the config file and the plugins' sources, re-read after
// every reload (one may add a plugin in another folder).
std::unique_ptr<FileWatch> watch_files(Reloader& reloader, const ServeReload& reload) {
  auto files = [&reloader, config_file = reload.config_file] {
    std::vector<std::filesystem::path> files = reloader.sources();
    if (config_file) files.push_back(*config_file);
    return files;
  };
  // The reload thread runs `done`: the watch outlives it (serve_plugins
  // stops the reloader first).
  auto watch = FileWatch::start(files(), kWatchDebounce, [&reloader, files](FileWatch& self) {
    reloader.request("file change", [&self, files](const ReloadReport& report) {
      if (report.stopping) return;
      if (auto watching = self.watch(files()); !watching) {
        std::cerr << "warmpool serve: watch: " + watching.error() + "\n";
      }
    });
  });
  if (!watch) {
    std::cerr << "warmpool serve: watch: " + watch.error() + " (reload with SIGHUP instead)\n";
    return nullptr;
  }
  return std::move(*watch);
}

std::string listening_line(const HttpServer& server, const ServerSettings& settings,
                           const RoutingTable& table) {
  std::string line = "warmpool serve: listening on http://" + server.address() + "/ (";
  const auto& routes = table.routes();
  if (routes.size() == 1) {
    const PluginSettings& p = routes.front().version->plugin->settings();
    line += p.source.filename().string() + ", engine " + p.engine + ", " +
            (p.no_pool ? std::string("no pool")
                       : "pool " + std::string(policy_name(p.pool.recycle)) + " warm " +
                             std::to_string(p.pool.warm_count) + " max " +
                             std::to_string(p.pool.max_instances));
  } else {
    line += std::to_string(routes.size()) + " plugins";
  }
  std::size_t threads = 0;
  for (const Route& r : routes) threads += call_threads(r.version->plugin->settings());
  return line + ", " + std::to_string(threads) + " call threads, " +
         std::to_string(settings.io_threads) + " I/O thread" +
         (settings.io_threads == 1 ? "" : "s") + ")";
}

}  // namespace

std::size_t default_max_connections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return kMostDefaultConnections;
  }
  const auto soft = static_cast<std::size_t>(limit.rlim_cur);
  const std::size_t cap = soft > 2 * kReservedDescriptors ? soft - kReservedDescriptors : soft / 2;
  return std::clamp<std::size_t>(cap, 1, kMostDefaultConnections);
}

int serve_plugins(HttpServer& server, HttpServer* admin, const ServeConfig& config,
                  std::vector<std::unique_ptr<ServedPlugin>> plugins, const ServeRoutes& routes,
                  ServeReload reload) {
  const ServerSettings& settings = config.server;
  PluginVersions versions;  // first: outlives every holder of a version
  Reloader reloader(settings, std::move(plugins), std::move(reload.read_config), versions);
  Router router(reloader, versions, routes, server.stats(), settings.inline_calls);
  if (auto listening = server.listen(); !listening) {
    return fail(kExitUsage, "serve", listening.error());
  }
  if (admin != nullptr) {
    if (auto listening = admin->listen(); !listening) {
      return fail(kExitUsage, "serve", "admin_listen: " + listening.error());
    }
  }
  // Watching before the address is announced: a change made once a client
  // can connect is seen.
  std::unique_ptr<FileWatch> watch = settings.watch ? watch_files(reloader, reload) : nullptr;
  std::jthread hangups(
      [&reloader](const std::stop_token& stop) { reload_on_hangup(stop, reloader); });
  std::cout << listening_line(server, settings, *reloader.table()) << std::endl;
  std::jthread admin_thread;
  if (admin != nullptr) {
    std::cout << "warmpool serve: admin listening on http://" << admin->address()
              << "/ (POST /admin/reload)" << std::endl;
    admin_thread = std::jthread([admin, &reloader, &settings] {
      admin->run(
          [&reloader](HttpRequest req, Responder respond) { handle_admin(reloader, req, respond); },
          [](unsigned, std::chrono::nanoseconds) {},
          {.timeout = settings.drain_timeout, .on_timeout = nullptr});
    });
  }
  const bool drained = server.run(
      [&router](HttpRequest req, Responder respond) { router.handle(std::move(req), respond); },
      [&router](unsigned status, std::chrono::nanoseconds elapsed) {
        router.record(status, elapsed);
      },
      {.timeout = settings.drain_timeout,
       .on_timeout = [](std::size_t) { wasm::interrupt_running_calls(); }});
  if (!drained) {
    // Calls that no deadline can reach are still running on the call
    // threads: waiting for them would break the drain bound.
    std::cerr << "warmpool serve: stopped with calls still running (give the plugin a "
                 "--timeout-ms so they can be interrupted)\n";
    std::_Exit(kExitOk);
  }
  // Reload requests still waiting are answered (503) before the admin
  // listener's drain waits for them; no reload starts after this.
  hangups = {};
  reloader.stop();
  watch.reset();
  admin_thread = {};
  std::cerr << "warmpool serve: stopped\n";
  return kExitOk;
}

}  // namespace warmpool::cli
