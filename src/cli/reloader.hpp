// `warmpool serve`'s hot reload: re-read the config, load what changed on a
// thread of its own (never an I/O thread), then publish a new routing table
// in one swap. A plugin whose settings and source bytes did not change keeps
// its running version; one whose new version fails to load keeps serving the
// old one. Reloads run one at a time; requests that arrive while one runs
// are answered together by the next.
//
//   Reloader reloader(config.server, std::move(plugins), read_config, versions);
//   reloader.request("SIGHUP", [](const ReloadReport& r) { /* logged already */ });
//   std::shared_ptr<const RoutingTable> table = reloader.table();   // per request
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "plugin_versions.hpp"
#include "serve_config.hpp"
#include "served_plugin.hpp"

namespace warmpool::cli {

struct PluginOutcome {
  std::string plugin;
  std::string result;  // kept, reloaded, added, removed or failed
  std::string message;
};

struct ReloadReport {
  std::string trigger;                        // "SIGHUP", "POST /admin/reload", "file change"
  std::optional<std::string> config_error{};  // the config could not be read: nothing changed
  std::vector<PluginOutcome> plugins{};
  std::vector<std::string> ignored{};  // [server] keys that changed but need a restart
  bool stopping = false;               // the server stopped before this reload could run

  // 200 when everything asked for is live; 422 when the config or a plugin
  // failed (what failed keeps serving its old version); 503 when stopping.
  unsigned http_status() const;
  nlohmann::ordered_json to_json() const;
};

class Reloader {
 public:
  using ReadConfig = std::function<std::expected<ServeConfig, std::string>()>;
  using Done = std::function<void(const ReloadReport&)>;

  // `plugins` are the ones loaded at start-up from a config whose [server]
  // was `running`; `versions` must outlive the Reloader.
  Reloader(const ServerSettings& running, std::vector<std::unique_ptr<ServedPlugin>> plugins,
           ReadConfig read_config, PluginVersions& versions);
  ~Reloader();  // stop()
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // The table requests route by; any thread.
  std::shared_ptr<const RoutingTable> table() const;
  // The plugins' source files as of the last config read (for --watch).
  std::vector<std::filesystem::path> sources() const;

  // Asks for a reload; `done` runs on the reload thread once it is over (or
  // at once, with `stopping` set, after stop()).
  void request(std::string trigger, Done done);
  // Returns once the reload thread has ended: a reload in progress finishes
  // the plugin it is loading, requests not yet started are answered with
  // `stopping`, and no `done` runs on that thread afterwards. Idempotent.
  void stop();

  // warmpool_reloads_total{result}, warmpool_reload_failures_total{plugin}.
  std::string to_prometheus() const;

 private:
  struct Pending {
    std::string trigger;
    Done done;
  };

  void serve_requests();
  ReloadReport reload(const std::string& trigger);
  void publish(std::shared_ptr<const RoutingTable> next, const ServeConfig& config);
  void count(const ReloadReport& report);

  ServerSettings running_;  // the reload thread's only
  ReadConfig read_config_;
  PluginVersions& versions_;

  mutable std::mutex table_mutex_;  // held only to copy or swap a pointer
  std::shared_ptr<const RoutingTable> table_;
  std::vector<std::filesystem::path> sources_;

  mutable std::mutex mutex_;  // pending requests and counters
  std::condition_variable request_ready_;
  std::vector<Pending> pending_;
  std::atomic<bool> stopping_{false};
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  std::map<std::string, std::uint64_t> failures_;  // by plugin

  std::jthread thread_;  // last: started once everything above exists
};

}  // namespace warmpool::cli
