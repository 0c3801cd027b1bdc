#include "plugin_versions.hpp"

namespace warmpool::cli {

std::size_t call_threads(const PluginSettings& p) {
  return p.no_pool ? p.server_threads : p.pool.max_instances;
}

PluginVersion::PluginVersion(std::unique_ptr<ServedPlugin> loaded) : plugin(std::move(loaded)) {
  const PluginSettings& p = plugin->settings();
  full_message = "every call thread of '" + p.name + "' is busy and " + std::to_string(p.queue) +
                 " requests are already waiting (" + std::to_string(call_threads(p)) +
                 " threads, --queue " + std::to_string(p.queue) + ")";
  wait_message = "no call thread of '" + p.name + "' was free within --acquire-timeout-ms (" +
                 std::to_string(p.pool.acquire_timeout.count()) + " ms)";
  calls = std::make_unique<CallQueue>(CallQueue::Options{
      .threads = call_threads(p), .capacity = p.queue, .max_wait = p.pool.acquire_timeout});
}

void RoutingTable::add(std::shared_ptr<PluginVersion> version,
                       std::optional<ReloadRecord> last_reload) {
  index_.emplace(version->plugin->name(), routes_.size());
  routes_.push_back({std::move(version), std::move(last_reload)});
}

const Route* RoutingTable::find(std::string_view name) const {
  auto found = index_.find(name);
  return found == index_.end() ? nullptr : &routes_[found->second];
}

std::string RoutingTable::names() const {
  std::string names;
  for (const Route& r : routes_) names += (names.empty() ? "" : ", ") + r.version->plugin->name();
  return names;
}

PluginVersions::PluginVersions() : destroyer_([this] { destroy_retired(); }) {}

PluginVersions::~PluginVersions() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  retired_ready_.notify_all();
  destroyer_.join();
}

std::shared_ptr<PluginVersion> PluginVersions::adopt(std::unique_ptr<ServedPlugin> plugin) {
  {
    std::lock_guard lock(mutex_);
    ++alive_[plugin->name()];
  }
  return std::shared_ptr<PluginVersion>(new PluginVersion(std::move(plugin)),
                                        [this](PluginVersion* v) { retire(v); });
}

void PluginVersions::retire(PluginVersion* version) {
  {
    std::lock_guard lock(mutex_);
    retired_.push_back(version);
  }
  retired_ready_.notify_one();
}

void PluginVersions::destroy_retired() {
  std::unique_lock lock(mutex_);
  while (true) {
    retired_ready_.wait(lock, [this] { return stopping_ || !retired_.empty(); });
    if (retired_.empty()) return;  // stopping, and nothing left to destroy
    PluginVersion* version = retired_.front();
    retired_.pop_front();
    lock.unlock();
    const std::string name = version->plugin->name();
    delete version;  // joins its call threads, then frees its pool
    lock.lock();
    --alive_[name];
  }
}

std::string PluginVersions::to_prometheus() const {
  std::string out =
      "# HELP warmpool_plugin_versions Loaded versions of a plugin still alive: the one "
      "serving, and old ones finishing their calls after a reload.\n"
      "# TYPE warmpool_plugin_versions gauge\n";
  std::lock_guard lock(mutex_);
  for (const auto& [name, count] : alive_) {
    out += "warmpool_plugin_versions{plugin=\"" + name + "\"} " + std::to_string(count) + "\n";
  }
  return out;
}

}  // namespace warmpool::cli
