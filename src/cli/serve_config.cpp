#include "serve_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "listen_address.hpp"
#include "warmpool/wasm/engine.hpp"

namespace warmpool::cli {
namespace {

// Where a value is, for messages: "warmpool.toml:12:7".
std::string where(const std::string& file, const toml::source_region& source) {
  return file + ":" + std::to_string(source.begin.line) + ":" + std::to_string(source.begin.column);
}

// Reads one table's keys, each at most once, and refuses the keys nobody
// read: a misspelt key is an error, never silently a default.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, const std::string& file)
      : table_(table), path_(std::move(path)), file_(file) {}

  std::string key_name(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // The node at `key`, or null; remembers that `key` is known.
  const toml::node* find(std::string_view key) {
    known_.insert(std::string(key));
    return table_.get(key);
  }

  void fail(const toml::node& node, std::string_view key, const std::string& what) {
    if (!error_) error_ = where(file_, node.source()) + ": " + key_name(key) + ": " + what;
  }
  void fail_at_table(const std::string& what) {
    if (!error_) error_ = where(file_, table_.source()) + ": " + what;
  }

  void string(std::string_view key, std::string& out) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    if (auto value = node->value<std::string>()) {
      out = *value;
    } else {
      fail(*node, key, std::string("expected a string, got ") + type_name(*node));
    }
  }

  void integer(std::string_view key, std::uint64_t min, std::uint64_t max,
               const std::function<void(std::uint64_t)>& set) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    auto value = node->value_exact<std::int64_t>();
    if (!value) {
      return fail(*node, key, std::string("expected an integer, got ") + type_name(*node));
    }
    if (*value < 0 || static_cast<std::uint64_t>(*value) < min ||
        static_cast<std::uint64_t>(*value) > max) {
      return fail(*node, key,
                  "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                      ", got " + std::to_string(*value));
    }
    set(static_cast<std::uint64_t>(*value));
  }

  void milliseconds(std::string_view key, std::uint64_t min, std::chrono::milliseconds& out) {
    integer(key, min, 24ULL * 3600 * 1000,
            [&](std::uint64_t v) { out = std::chrono::milliseconds(v); });
  }

  // The sub-table at `key`, if any (a non-table is an error).
  const toml::table* table(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    if (const toml::table* t = node->as_table()) return t;
    fail(*node, key, std::string("expected a table, got ") + type_name(*node));
    return nullptr;
  }

  // After every read: unknown keys are errors.
  std::optional<std::string> finish() {
    for (const auto& [key, node] : table_) {
      if (!known_.contains(std::string(key.str()))) {
        fail(node, key.str(), "unknown key (known here: " + known_list() + ")");
      }
    }
    return error_;
  }

  const std::optional<std::string>& error() const { return error_; }

 private:
  static const char* type_name(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a number";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      default: return "a date or time";
    }
  }
  std::string known_list() const {
    std::string out;
    for (const auto& k : known_) out += (out.empty() ? "" : ", ") + k;
    return out;
  }

  const toml::table& table_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> known_;
  std::optional<std::string> error_;
};

std::optional<std::string> read_server(TableReader& r, ServerSettings& s) {
  std::string listen;
  r.string("listen", listen);
  if (!listen.empty()) {
    if (auto address = parse_listen_address(listen)) {
      s.host = address->host;
      s.port = address->port;
    } else {
      r.fail(*r.find("listen"), "listen", address.error());
    }
  }
  r.integer("threads", 1, 1024, [&](std::uint64_t v) { s.threads = v; });
  r.integer("io_threads", 1, 64, [&](std::uint64_t v) { s.io_threads = v; });
  r.integer("max_body", 0, 1ULL << 32, [&](std::uint64_t v) { s.max_body = v; });
  r.integer("max_connections", 1, 1'000'000, [&](std::uint64_t v) { s.max_connections = v; });
  r.integer("queue", 0, 100'000, [&](std::uint64_t v) { s.queue = v; });
  r.milliseconds("acquire_timeout_ms", 0, s.acquire_timeout);
  r.milliseconds("header_timeout_ms", 1, s.header_timeout);
  r.milliseconds("idle_timeout_ms", 1, s.idle_timeout);
  r.milliseconds("drain_timeout_ms", 0, s.drain_timeout);
  std::string admin_listen;
  r.string("admin_listen", admin_listen);
  if (!admin_listen.empty()) {
    if (auto address = parse_listen_address(admin_listen)) {
      s.admin_listen = *address;
    } else {
      r.fail(*r.find("admin_listen"), "admin_listen", address.error());
    }
  }
  for (auto [key, field] : {std::pair{"watch", &s.watch}, {"inline_calls", &s.inline_calls}}) {
    if (const toml::node* node = r.find(key)) {
      if (auto v = node->value<bool>()) {
        *field = *v;
      } else {
        r.fail(*node, key, "expected true or false");
      }
    }
  }
  return r.finish();
}

std::optional<std::string> read_pool(const toml::table& table, const std::string& path,
                                     const std::string& file, PluginSettings& p) {
  TableReader r(table, path, file);
  r.integer("max", 1, 4096, [&](std::uint64_t v) { p.pool.max_instances = v; });
  p.pool.warm_count = p.pool.max_instances;
  r.integer("warm", 0, 4096, [&](std::uint64_t v) { p.pool.warm_count = v; });
  std::string policy;
  r.string("policy", policy);
  if (policy == "reuse") p.pool.recycle = Recycle::Reuse;
  if (policy == "reset") p.pool.recycle = Recycle::Reset;
  if (policy == "fresh") p.pool.recycle = Recycle::Fresh;
  if (!policy.empty() && policy != "reuse" && policy != "reset" && policy != "fresh") {
    r.fail(*r.find("policy"), "policy", "expected reuse, reset or fresh, got '" + policy + "'");
  }
  r.milliseconds("acquire_timeout_ms", 0, p.pool.acquire_timeout);
  r.integer("queue", 0, 100'000, [&](std::uint64_t v) { p.queue = v; });
  if (const toml::node* no_pool = r.find("none")) {
    if (auto v = no_pool->value<bool>()) {
      p.no_pool = *v;
    } else {
      r.fail(*no_pool, "none", "expected true or false");
    }
  }
  if (!r.error() && p.pool.warm_count > p.pool.max_instances) {
    r.fail(*r.find("warm"), "warm",
           "warm " + std::to_string(p.pool.warm_count) + " is more than max " +
               std::to_string(p.pool.max_instances));
  }
  return r.finish();
}

std::optional<std::string> read_limits(const toml::table& table, const std::string& path,
                                       const std::string& file, PluginSettings& p) {
  TableReader r(table, path, file);
  r.milliseconds("timeout_ms", 0, p.limits.timeout);
  r.integer("fuel", 0, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
            [&](std::uint64_t v) { p.limits.fuel = v; });
  r.integer("max_memory_pages", 0, 65536,
            [&](std::uint64_t v) { p.limits.max_memory_pages = static_cast<std::uint32_t>(v); });
  return r.finish();
}

std::optional<std::string> read_extism_config(const toml::table& table, const std::string& path,
                                              const std::string& file, PluginSettings& p) {
  TableReader r(table, path, file);
  for (const auto& [key, node] : table) {
    r.string(key.str(), p.config[std::string(key.str())]);
  }
  return r.finish();
}

std::optional<std::string> read_plugin(const toml::table& table, std::size_t index,
                                       const std::string& file, const std::filesystem::path& folder,
                                       const ServerSettings& server, PluginSettings& p) {
  const std::string path = "plugin[" + std::to_string(index) + "]";
  TableReader r(table, path, file);
  r.string("name", p.name);
  std::string source;
  r.string("source", source);
  r.string("engine", p.engine);
  if (const toml::node* wasi = r.find("wasi")) {
    if (auto v = wasi->value<bool>()) {
      p.wasi = *v;
    } else {
      r.fail(*wasi, "wasi", "expected true or false");
    }
  }
  if (!r.error() && !wasm::Engine::named(p.engine)) {
    std::string built;
    for (auto name : wasm::Engine::available())
      built += (built.empty() ? "" : ", ") + std::string(name);
    r.fail(*r.find("engine"), "engine",
           "no engine '" + p.engine + "' in this build (it has: " + built + ")");
  }
  p.pool.max_instances = server.threads;
  p.pool.warm_count = server.threads;
  p.pool.acquire_timeout = server.acquire_timeout;
  p.server_threads = server.threads;
  p.queue = server.queue;
  if (const toml::table* pool = r.table("pool")) {
    if (auto e = read_pool(*pool, path + ".pool", file, p)) return e;
  }
  if (const toml::table* limits = r.table("limits")) {
    if (auto e = read_limits(*limits, path + ".limits", file, p)) return e;
  }
  if (const toml::table* config = r.table("config")) {
    if (auto e = read_extism_config(*config, path + ".config", file, p)) return e;
  }
  if (!r.error() && p.name.empty()) r.fail_at_table(path + ": 'name' is required");
  if (!r.error() && source.empty()) r.fail_at_table(path + ": 'source' is required");
  if (!r.error() && p.name.find_first_of("/?#% ") != std::string::npos) {
    r.fail(*r.find("name"), "name",
           "'" + p.name + "' may not contain '/', '?', '#', '%' or spaces");
  }
  p.source =
      std::filesystem::path(source).is_absolute() ? std::filesystem::path(source) : folder / source;
  return r.finish();
}

}  // namespace

bool same_plugin_settings(const PluginSettings& running, const PluginSettings& next) {
  const PoolConfig& a = running.pool;
  const PoolConfig& b = next.pool;
  const bool same_pool = a.max_instances == b.max_instances && a.warm_count == b.warm_count &&
                         a.recycle == b.recycle && a.acquire_timeout == b.acquire_timeout &&
                         a.idle_timeout == b.idle_timeout && a.max_uses == b.max_uses &&
                         a.max_lifetime == b.max_lifetime && a.refill_threads == b.refill_threads;
  const bool same_limits = running.limits.fuel == next.limits.fuel &&
                           running.limits.timeout == next.limits.timeout &&
                           running.limits.max_memory_pages == next.limits.max_memory_pages;
  return same_pool && same_limits && running.name == next.name && running.source == next.source &&
         running.engine == next.engine && running.no_pool == next.no_pool &&
         running.server_threads == next.server_threads && running.queue == next.queue &&
         running.wasi == next.wasi && running.config == next.config;
}

std::vector<std::string> restart_only_changes(const ServerSettings& running,
                                              const ServerSettings& next) {
  auto admin = [](const ServerSettings& s) {
    return s.admin_listen ? s.admin_listen->host + ":" + std::to_string(s.admin_listen->port)
                          : std::string();
  };
  std::vector<std::string> changed;
  if (running.host != next.host || running.port != next.port) changed.emplace_back("listen");
  if (running.io_threads != next.io_threads) changed.emplace_back("io_threads");
  if (running.max_body != next.max_body) changed.emplace_back("max_body");
  if (running.max_connections != next.max_connections) changed.emplace_back("max_connections");
  if (running.header_timeout != next.header_timeout) changed.emplace_back("header_timeout_ms");
  if (running.idle_timeout != next.idle_timeout) changed.emplace_back("idle_timeout_ms");
  if (running.drain_timeout != next.drain_timeout) changed.emplace_back("drain_timeout_ms");
  if (admin(running) != admin(next)) changed.emplace_back("admin_listen");
  if (running.watch != next.watch) changed.emplace_back("watch");
  if (running.inline_calls != next.inline_calls) changed.emplace_back("inline_calls");
  return changed;
}

std::expected<ServeConfig, std::string> parse_serve_config(std::string_view text,
                                                           const std::string& file_name,
                                                           const std::filesystem::path& folder,
                                                           const ServerSettings& server_defaults) {
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    return std::unexpected(where(file_name, e.source()) + ": " + std::string(e.description()));
  }
  ServeConfig config{.server = server_defaults, .plugins = {}};
  TableReader top(root, "", file_name);
  if (const toml::table* server = top.table("server")) {
    TableReader r(*server, "server", file_name);
    if (auto e = read_server(r, config.server)) return std::unexpected(*e);
  }
  if (const toml::node* plugins = top.find("plugin")) {
    const toml::array* list = plugins->as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      top.fail(*plugins, "plugin", "expected [[plugin]] tables");
    } else {
      std::set<std::string, std::less<>> names;
      for (std::size_t i = 0; i < list->size(); ++i) {
        PluginSettings p;
        if (auto e = read_plugin(*list->at(i).as_table(), i, file_name, folder, config.server, p)) {
          return std::unexpected(*e);
        }
        if (!names.insert(p.name).second) {
          return std::unexpected(where(file_name, list->at(i).source()) + ": plugin[" +
                                 std::to_string(i) + "].name: '" + p.name + "' names two plugins");
        }
        config.plugins.push_back(std::move(p));
      }
    }
  }
  if (auto e = top.finish()) return std::unexpected(*e);
  if (config.plugins.empty()) {
    return std::unexpected(file_name + ": no [[plugin]]: a config serves at least one plugin");
  }
  return config;
}

std::expected<ServeConfig, std::string> load_serve_config(const std::filesystem::path& file,
                                                          const ServerSettings& server_defaults) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec)) {
    return std::unexpected(
        "--config " + file.string() + ": cannot read it (" +
        (std::filesystem::exists(file, ec) ? "not a readable file" : "no such file") + ")");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_serve_config(text.str(), file.string(), file.parent_path(), server_defaults);
}

}  // namespace warmpool::cli
