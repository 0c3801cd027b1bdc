// One plugin behind `warmpool serve`, whatever its kind: a plugin written to
// warmpool's bytes ABI (docs/plugin-abi.md) or an unmodified Extism plugin
// (recognised by its `extism:host/env` imports, or given as a manifest .json).
// Each has its own pool, engine and limits; the server only asks it to check
// an export name, run a call and describe itself.
//
//   auto plugin = load_served_plugin(settings, {.interrupted = stop_requested});
//   if (!plugin) { std::cerr << plugin.error() << '\n'; return 2; }
//   if (auto refused = (*plugin)->refuse_export("render")) return *refused;   // 404 / 400
//   HttpResponse r = (*plugin)->call("render", body);                         // on a call thread
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http_server.hpp"
#include "serve_config.hpp"
#include "warmpool/pool_metrics.hpp"

namespace warmpool::cli {

class ServedPlugin {
 public:
  virtual ~ServedPlugin() = default;

  const std::string& name() const { return settings_.name; }
  const PluginSettings& settings() const { return settings_; }
  const std::string& source_sha256() const { return source_sha256_; }
  // What a reload compares with source_fingerprint(): the sha256 of the
  // bytes loaded (for a manifest, of it and of every module it names).
  const std::string& fingerprint() const { return fingerprint_; }

  // The 404 or 400 to answer when `export_name` cannot be called; nullopt
  // when it can. Cheap: it runs on an I/O thread.
  virtual std::optional<HttpResponse> refuse_export(std::string_view export_name) const = 0;
  // Runs the call through the pool (or a fresh instance); on a call thread.
  virtual HttpResponse call(const std::string& export_name, const std::string& body) = 0;

  // For GET /plugins: kind, engine, exports, source and its sha256, when it
  // was loaded, and its pool's state.
  nlohmann::ordered_json describe() const;
  // The pool's Prometheus series, labelled pool="<name>" (empty without a pool).
  std::string metrics_text() const;

 protected:
  ServedPlugin(PluginSettings settings, std::string source_sha256, std::string fingerprint);
  virtual std::string_view kind() const = 0;
  virtual std::vector<std::string> exports() const = 0;
  // Set by a kind once its pool exists.
  std::shared_ptr<const PoolMetrics> metrics_;

 private:
  PluginSettings settings_;
  std::string source_sha256_;
  std::string fingerprint_;
  std::string loaded_at_;
};

struct LoadHooks {
  // Polled while instances are built: true cuts the warm-up short.
  std::function<bool()> interrupted = [] { return false; };
  // Told before a warm-up starts (a supervisor's sign of progress).
  std::function<void(const PluginSettings&, std::string_view module_name)> warming =
      [](const PluginSettings&, std::string_view) {};
};

// The fingerprint `settings.source` has on disk now, to compare with a
// loaded plugin's; the error says why it cannot be read.
std::expected<std::string, std::string> source_fingerprint(const PluginSettings& settings);

// Reads, compiles and warms one plugin. The error names the plugin and what
// failed (unreadable file, compile, link, instantiation).
std::expected<std::unique_ptr<ServedPlugin>, std::string> load_served_plugin(
    const PluginSettings& settings, const LoadHooks& hooks);

}  // namespace warmpool::cli
