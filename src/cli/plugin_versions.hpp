// The versions of `warmpool serve`'s plugins that are alive, and the routing
// table that says which one serves each name.
//
// A PluginVersion is one loaded plugin with the call threads and queue in
// front of it. Requests hold it by shared_ptr while they wait and run, so a
// reload that swaps the table lets in-flight calls finish on the version they
// started on; the version is destroyed when its last call returns. That last
// reference may drop on one of the version's own call threads, which cannot
// join themselves: PluginVersions destroys retired versions on a thread of
// its own, and counts the versions alive per plugin for /metrics.
//
//   PluginVersions versions;
//   auto table = std::make_shared<RoutingTable>();
//   table->add(versions.adopt(std::move(plugin)), std::nullopt);
//   if (const Route* route = table->find("echo")) route->version->plugin->call("echo", body);
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "call_queue.hpp"
#include "served_plugin.hpp"

namespace warmpool::cli {

// A plugin's calls run on as many threads as its pool has instances (a
// thread without an instance could only wait); without a pool, on the
// server's --threads.
std::size_t call_threads(const PluginSettings& settings);

struct PluginVersion {
  explicit PluginVersion(std::unique_ptr<ServedPlugin> loaded);

  std::unique_ptr<ServedPlugin> plugin;
  std::string full_message;  // the 503 when the queue is full
  std::string wait_message;  // the 503 when no call thread was free in time
  // Last: destroying it joins the call threads before the plugin they call goes.
  std::unique_ptr<CallQueue> calls;
};

// What the last reload that did something to a plugin did (GET /plugins).
struct ReloadRecord {
  std::string at;      // UTC, ISO 8601
  std::string result;  // "reloaded", "added" or "failed"
  std::string error;   // why it failed; empty otherwise
};

struct Route {
  std::shared_ptr<PluginVersion> version;
  std::optional<ReloadRecord> last_reload;
};

// Immutable once published: a reload builds a new one.
class RoutingTable {
 public:
  void add(std::shared_ptr<PluginVersion> version, std::optional<ReloadRecord> last_reload);
  const Route* find(std::string_view name) const;
  // In the config file's order.
  const std::vector<Route>& routes() const { return routes_; }
  std::string names() const;

 private:
  std::vector<Route> routes_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

class PluginVersions {
 public:
  PluginVersions();
  // Destroys every version still retired, then stops; every shared_ptr that
  // adopt() returned must be gone by now.
  ~PluginVersions();
  PluginVersions(const PluginVersions&) = delete;
  PluginVersions& operator=(const PluginVersions&) = delete;

  // The plugin with its own call threads and queue, counted as alive until
  // the last reference drops and it is destroyed.
  std::shared_ptr<PluginVersion> adopt(std::unique_ptr<ServedPlugin> plugin);

  // warmpool_plugin_versions{plugin="<name>"}: versions alive (2 while an old
  // one finishes its calls; 0 once a removed plugin's last call returned).
  std::string to_prometheus() const;

 private:
  void retire(PluginVersion* version);
  void destroy_retired();

  mutable std::mutex mutex_;
  std::condition_variable retired_ready_;
  std::deque<PluginVersion*> retired_;
  std::map<std::string, std::int64_t> alive_;
  bool stopping_ = false;
  std::jthread destroyer_;  // last: started once everything above exists
};

}  // namespace warmpool::cli
