#include "reloader.hpp"

#include <algorithm>
#include <iostream>

#include "utc_time.hpp"

namespace warmpool::cli {
namespace {

std::string short_sha(const std::string& sha256) {
  return sha256.substr(0, 12);
}

// One line per reload, plus one per failure and per ignored key: what an
// operator tailing the log needs to see that a deploy did not take.
void log_report(const ReloadReport& r) {
  const std::string prefix = "warmpool serve: reload (" + r.trigger + ")";
  if (r.config_error) {
    std::cerr << prefix + " failed, nothing changed: " + *r.config_error + "\n";
    return;
  }
  std::map<std::string, int> counts;
  for (const PluginOutcome& p : r.plugins) ++counts[p.result];
  std::string summary;
  for (const char* result : {"reloaded", "added", "removed", "failed", "kept"}) {
    if (counts[result] > 0) {
      summary += (summary.empty() ? "" : ", ") + std::to_string(counts[result]) + " " + result;
    }
  }
  std::string text = prefix + ": " + (summary.empty() ? "no plugins" : summary) + "\n";
  for (const PluginOutcome& p : r.plugins) {
    if (p.result == "failed") text += prefix + ": plugin '" + p.plugin + "': " + p.message + "\n";
  }
  for (const std::string& key : r.ignored) {
    text += prefix + ": [server] " + key + " changed; ignored until restart\n";
  }
  std::cerr << text;
}

}  // namespace

unsigned ReloadReport::http_status() const {
  if (stopping) return 503;
  if (config_error) return 422;
  for (const PluginOutcome& p : plugins) {
    if (p.result == "failed") return 422;
  }
  return 200;
}

nlohmann::ordered_json ReloadReport::to_json() const {
  const unsigned status = http_status();
  nlohmann::ordered_json out = {{"status", status == 200   ? "ok"
                                           : status == 503 ? "stopping"
                                                           : "failed"},
                                {"trigger", trigger}};
  if (config_error) out["error"] = *config_error;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const PluginOutcome& p : plugins) {
    list.push_back({{"name", p.plugin}, {"result", p.result}, {"message", p.message}});
  }
  out["plugins"] = std::move(list);
  out["ignored_until_restart"] = ignored;
  return out;
}

Reloader::Reloader(const ServerSettings& running,
                   std::vector<std::unique_ptr<ServedPlugin>> plugins, ReadConfig read_config,
                   PluginVersions& versions)
    : running_(running), read_config_(std::move(read_config)), versions_(versions) {
  auto table = std::make_shared<RoutingTable>();
  for (auto& plugin : plugins) {
    sources_.push_back(plugin->settings().source);
    failures_.emplace(plugin->name(), 0);
    table->add(versions_.adopt(std::move(plugin)), std::nullopt);
  }
  table_ = std::move(table);
  thread_ = std::jthread([this] { serve_requests(); });
}

Reloader::~Reloader() {
  stop();
}

std::shared_ptr<const RoutingTable> Reloader::table() const {
  std::lock_guard lock(table_mutex_);
  return table_;
}

std::vector<std::filesystem::path> Reloader::sources() const {
  std::lock_guard lock(table_mutex_);
  return sources_;
}

void Reloader::request(std::string trigger, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      pending_.push_back({std::move(trigger), std::move(done)});
      request_ready_.notify_one();
      return;
    }
  }
  done({.trigger = std::move(trigger), .stopping = true});
}

void Reloader::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  request_ready_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Reloader::serve_requests() {
  std::unique_lock lock(mutex_);
  while (true) {
    request_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    std::vector<Pending> batch = std::move(pending_);
    pending_.clear();
    const bool stopping = stopping_;
    lock.unlock();
    if (stopping) {
      for (Pending& p : batch) p.done({.trigger = p.trigger, .stopping = true});
      return;
    }
    std::string trigger;
    for (const Pending& p : batch) {
      if (trigger.find(p.trigger) == std::string::npos) {
        trigger += (trigger.empty() ? "" : ", ") + p.trigger;
      }
    }
    const ReloadReport report = reload(trigger);
    log_report(report);
    count(report);
    for (Pending& p : batch) p.done(report);
    lock.lock();
  }
}

ReloadReport Reloader::reload(const std::string& trigger) {
  ReloadReport report{.trigger = trigger};
  auto config = read_config_();
  if (!config) {
    report.config_error = config.error();
    return report;
  }
  report.ignored = restart_only_changes(running_, config->server);
  const LoadHooks hooks{.interrupted = [this] { return stopping_.load(); }};
  const std::shared_ptr<const RoutingTable> running = table();
  auto next = std::make_shared<RoutingTable>();
  for (const PluginSettings& p : config->plugins) {
    const Route* current = running->find(p.name);
    auto fingerprint = source_fingerprint(p);
    if (current != nullptr && fingerprint &&
        *fingerprint == current->version->plugin->fingerprint() &&
        same_plugin_settings(current->version->plugin->settings(), p)) {
      next->add(current->version, current->last_reload);
      report.plugins.push_back({p.name, "kept", "settings and source unchanged"});
      continue;
    }
    auto loaded = fingerprint ? load_served_plugin(p, hooks)
                              : std::unexpected(std::move(fingerprint.error()));
    if (!loaded) {
      if (current != nullptr) {
        next->add(current->version, ReloadRecord{utc_timestamp(), "failed", loaded.error()});
      }
      report.plugins.push_back(
          {p.name, "failed",
           loaded.error() +
               (current != nullptr ? " (still serving its previous version)" : " (not served)")});
      continue;
    }
    std::string message = "sha256 " + short_sha((*loaded)->source_sha256());
    if (current != nullptr) {
      message = "sha256 " + short_sha(current->version->plugin->source_sha256()) + " -> " +
                short_sha((*loaded)->source_sha256());
    }
    const std::string result = current != nullptr ? "reloaded" : "added";
    next->add(versions_.adopt(std::move(*loaded)), ReloadRecord{utc_timestamp(), result, ""});
    report.plugins.push_back({p.name, result, std::move(message)});
  }
  for (const Route& r : running->routes()) {
    const std::string& name = r.version->plugin->name();
    const bool in_config = std::ranges::any_of(
        config->plugins, [&](const PluginSettings& p) { return p.name == name; });
    if (!in_config) {
      report.plugins.push_back({name, "removed", "no longer in the config: answers 404"});
    }
  }
  publish(std::move(next), *config);
  return report;
}

void Reloader::publish(std::shared_ptr<const RoutingTable> next, const ServeConfig& config) {
  std::vector<std::filesystem::path> sources;
  for (const PluginSettings& p : config.plugins) sources.push_back(p.source);
  std::lock_guard lock(table_mutex_);
  table_ = std::move(next);
  sources_ = std::move(sources);
}

void Reloader::count(const ReloadReport& report) {
  std::lock_guard lock(mutex_);
  ++(report.http_status() == 200 ? reloads_ok_ : reloads_failed_);
  for (const PluginOutcome& p : report.plugins) {
    failures_[p.plugin] += p.result == "failed" ? 1 : 0;
  }
}

std::string Reloader::to_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out =
      "# HELP warmpool_reloads_total Reloads (SIGHUP, POST /admin/reload, file change) by "
      "result: failed when the config or any plugin failed to load.\n"
      "# TYPE warmpool_reloads_total counter\n"
      "warmpool_reloads_total{result=\"ok\"} " +
      std::to_string(reloads_ok_) + "\nwarmpool_reloads_total{result=\"failed\"} " +
      std::to_string(reloads_failed_) +
      "\n# HELP warmpool_reload_failures_total Reloads in which this plugin's new version failed "
      "to load (it kept serving its old one).\n"
      "# TYPE warmpool_reload_failures_total counter\n";
  for (const auto& [name, failures] : failures_) {
    out += "warmpool_reload_failures_total{plugin=\"" + name + "\"} " + std::to_string(failures) +
           "\n";
  }
  return out;
}

}  // namespace warmpool::cli
