#include "plugin_server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

#include "call_queue.hpp"
#include "diagnostics.hpp"
#include "error_status.hpp"
#include "http_metrics.hpp"
#include "pool_flags.hpp"
#include "url_path.hpp"
#include "warmpool/wasm/interrupt.hpp"

namespace warmpool::cli {
namespace {

// Descriptors the server keeps for itself beyond its connections: the
// plugins' files, the engines, the pools' threads, stdio.
constexpr std::size_t kReservedDescriptors = 64;
constexpr std::size_t kMostDefaultConnections = 10'000;

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

// A plugin's calls run on as many threads as its pool has instances (a
// thread without an instance could only wait); without a pool, on the
// server's --threads.
std::size_t call_threads(const PluginSettings& p) {
  return p.no_pool ? p.server_threads : p.pool.max_instances;
}

// Routes requests; each plugin's calls go through its own queue to its own
// call threads.
class Router {
 public:
  Router(std::vector<std::unique_ptr<ServedPlugin>>& plugins, const ServeRoutes& routes,
         const HttpServerStats& server_stats)
      : plugins_(plugins), routes_(routes), server_stats_(server_stats) {
    for (auto& p : plugins_) {
      by_name_.emplace(p->name(), Admission(*p));
    }
  }

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
    ServedPlugin* plugin = nullptr;
    std::string_view encoded_export;
    if (path.starts_with("/plugins/")) {
      const std::string_view rest = std::string_view(path).substr(9);
      const auto slash = rest.find('/');
      auto name = percent_decode(rest.substr(0, slash));
      if (!name) {
        return respond(json_error(400, "bad_request", "bad path '" + path + "': " + name.error()));
      }
      auto found = by_name_.find(*name);
      if (found == by_name_.end()) {
        return respond(json_error(404, "not_found",
                                  "no plugin '" + *name + "' (plugins: " + plugin_names() + ")"));
      }
      if (slash == std::string_view::npos) {
        return respond(
            json_error(404, "not_found",
                       "no export in '" + path + "' (POST /plugins/" + *name + "/<export>)"));
      }
      plugin = found->second.plugin;
      encoded_export = rest.substr(slash + 1);
    } else if (path.starts_with("/call/") && routes_.call_route_plugin) {
      plugin = by_name_.at(*routes_.call_route_plugin).plugin;
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
    if (auto refused = plugin->refuse_export(*decoded)) return respond(std::move(*refused));
    Admission& admission = by_name_.at(plugin->name());
    const bool queued = admission.calls->submit(
        [plugin, respond, name = std::move(*decoded), body = std::move(req.body)] {
          respond(plugin->call(name, body));
        },
        [&admission, respond] { respond(busy_response(admission.wait_message)); });
    if (!queued) respond(busy_response(admission.full_message));
  }

  void record(unsigned status, std::chrono::nanoseconds elapsed) {
    http_metrics_.record(status, elapsed);
  }

 private:
  std::string plugin_names() const {
    std::string names;
    for (const auto& p : plugins_) names += (names.empty() ? "" : ", ") + p->name();
    return names;
  }

  HttpResponse plugin_list() const {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& p : plugins_) list.push_back(p->describe());
    return {.status = 200, .body = list.dump(2) + "\n", .content_type = "application/json"};
  }

  std::string metrics_text() const {
    std::vector<std::string> texts;
    for (const auto& p : plugins_) {
      texts.push_back(p->metrics_text());
      texts.push_back(by_name_.at(p->name()).calls->to_prometheus(p->name()));
    }
    texts.push_back(http_metrics_.to_prometheus());
    texts.push_back(to_prometheus(server_stats_));
    return merge_prometheus(texts);
  }

  // A plugin's own call threads and queue: one plugin's slow or spinning
  // calls cannot take another's threads or fill another's queue.
  struct Admission {
    explicit Admission(ServedPlugin& p)
        : plugin(&p),
          calls(std::make_unique<CallQueue>(
              CallQueue::Options{.threads = call_threads(p.settings()),
                                 .capacity = p.settings().queue,
                                 .max_wait = p.settings().pool.acquire_timeout})),
          full_message("every call thread of '" + p.name() + "' is busy and " +
                       std::to_string(p.settings().queue) + " requests are already waiting (" +
                       std::to_string(call_threads(p.settings())) + " threads, --queue " +
                       std::to_string(p.settings().queue) + ")"),
          wait_message("no call thread of '" + p.name() +
                       "' was free within --acquire-timeout-ms (" +
                       std::to_string(p.settings().pool.acquire_timeout.count()) + " ms)") {}
    ServedPlugin* plugin;
    std::unique_ptr<CallQueue> calls;
    std::string full_message;
    std::string wait_message;
  };

  std::vector<std::unique_ptr<ServedPlugin>>& plugins_;
  const ServeRoutes& routes_;
  const HttpServerStats& server_stats_;
  HttpMetrics http_metrics_;
  // Last: destroying it joins the call threads before what their calls use.
  std::map<std::string, Admission, std::less<>> by_name_;
};

std::string listening_line(const HttpServer& server, const ServerSettings& settings,
                           const std::vector<std::unique_ptr<ServedPlugin>>& plugins) {
  std::string line = "warmpool serve: listening on http://" + server.address() + "/ (";
  if (plugins.size() == 1) {
    const PluginSettings& p = plugins.front()->settings();
    line += p.source.filename().string() + ", engine " + p.engine + ", " +
            (p.no_pool ? std::string("no pool")
                       : "pool " + std::string(policy_name(p.pool.recycle)) + " warm " +
                             std::to_string(p.pool.warm_count) + " max " +
                             std::to_string(p.pool.max_instances));
  } else {
    line += std::to_string(plugins.size()) + " plugins";
  }
  std::size_t threads = 0;
  for (const auto& p : plugins) threads += call_threads(p->settings());
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

int serve_plugins(HttpServer& server, const ServerSettings& settings,
                  std::vector<std::unique_ptr<ServedPlugin>>& plugins, const ServeRoutes& routes) {
  Router router(plugins, routes, server.stats());
  if (auto listening = server.listen(); !listening) {
    return fail(kExitUsage, "serve", listening.error());
  }
  std::cout << listening_line(server, settings, plugins) << std::endl;
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
  std::cerr << "warmpool serve: stopped\n";
  return kExitOk;
}

}  // namespace warmpool::cli
