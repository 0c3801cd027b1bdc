#include "served_plugin.hpp"

#include <openssl/evp.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <sstream>

#include "error_status.hpp"
#include "pool_flags.hpp"
#include "utc_time.hpp"
#include "value_text.hpp"
#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/linker.hpp"
#include "warmpool/wasm/module.hpp"
#include "warmpool/wasm/pool.hpp"

namespace warmpool::cli {
namespace {

template <class Error>
std::string text_of(const Error& error) {
  std::ostringstream text;
  text << error;
  return text.str();
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::expected<std::vector<std::uint8_t>, std::string> read_source(const PluginSettings& p) {
  std::error_code ec;
  if (std::filesystem::is_directory(p.source, ec)) {
    return std::unexpected(p.source.string() + ": is a directory, not a plugin");
  }
  std::ifstream in(p.source, std::ios::binary);
  if (!in) return std::unexpected(p.source.string() + ": cannot read it (no such file?)");
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A manifest's own bytes say nothing of the modules it names by path: a new
// build of one changes this.
std::string manifest_fingerprint(const std::string& manifest_sha256,
                                 const extism::Manifest& manifest) {
  std::string digests = manifest_sha256;
  for (const auto& module : manifest.wasm) digests += module.name + ":" + sha256_hex(module.bytes);
  return sha256_hex(
      std::span(reinterpret_cast<const std::uint8_t*>(digests.data()), digests.size()));
}

HttpResponse ok(std::string output) {
  return {.status = 200, .body = std::move(output), .content_type = "application/octet-stream"};
}

HttpResponse extism_error_response(const extism::Error& error) {
  using extism::ErrorKind;
  unsigned status = 500;
  switch (error.kind()) {
    case ErrorKind::timeout: status = 504; break;
    case ErrorKind::not_found: status = 404; break;
    case ErrorKind::resource_limit: status = 503; break;
    default: break;
  }
  HttpResponse r = json_error(status, extism::to_string(error.kind()), error.message());
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

// A plugin's instances: a pool built and warmed at start-up (or none, for
// a fresh instance per call), whichever kind of plugin they belong to.
template <class T, class E, class L>
class PluginInstances {
 public:
  using Make = std::function<std::expected<T, E>()>;

  // `interrupted` is the error a build cut short by a signal returns.
  std::optional<std::string> warm(const PluginSettings& settings, const LoadHooks& hooks,
                                  std::string_view module_name, Make make, E interrupted) {
    make_ = std::move(make);
    // Refill threads keep using the factory after the warm-up: the hook is
    // copied, and consulted only while the server is starting.
    auto factory = [this, stop = hooks.interrupted, interrupted]() -> std::expected<T, E> {
      if (starting_.load(std::memory_order_relaxed) && stop()) return std::unexpected(interrupted);
      return make_();
    };
    if (settings.no_pool) {
      auto probe = factory();
      return probe ? std::nullopt : std::optional(text_of(probe.error()));
    }
    if (settings.pool.warm_count > 0) hooks.warming(settings, module_name);
    auto pool = InstancePool<T, E, L>::create(settings.pool, factory);
    starting_ = false;
    if (!pool) return text_of(pool.error());
    pool_.emplace(std::move(*pool));
    return std::nullopt;
  }

  // `use` on a checked-out instance (a fresh one without a pool), or
  // `failed` on why there is none.
  template <class Use, class Failed>
  HttpResponse with_instance(Use&& use, Failed&& failed) {
    if (!pool_) {
      auto instance = make_();
      return instance ? use(*instance) : failed(instance.error());
    }
    auto lease = pool_->checkout();
    return lease ? use(lease->get()) : failed(lease.error());
  }

  std::shared_ptr<const PoolMetrics> metrics() const { return pool_ ? pool_->metrics() : nullptr; }

 private:
  Make make_;
  std::atomic<bool> starting_{true};
  std::optional<InstancePool<T, E, L>> pool_;  // last: its refill threads use the members above
};

// A plugin written to warmpool's bytes ABI.
class BytesAbiPlugin final : public ServedPlugin {
 public:
  BytesAbiPlugin(PluginSettings settings, std::string sha256, wasm::LinkedModule linked)
      : ServedPlugin(std::move(settings), sha256, sha256), linked_(std::move(linked)) {}

  std::optional<std::string> warm(const LoadHooks& hooks) {
    auto failed = instances_.warm(
        settings(), hooks, linked_.module().name(),
        [this] { return wasm::Instance::instantiate(linked_); },
        wasm::WasmError(wasm::ErrorKind::instantiate, "start-up interrupted by a signal"));
    metrics_ = instances_.metrics();
    return failed;
  }

  std::optional<HttpResponse> refuse_export(std::string_view export_name) const override {
    const wasm::Module& module = linked_.module();
    const auto* fn = module.find_export(export_name);
    if (fn == nullptr) {
      std::string list;
      for (const auto& e : module.exports()) {
        if (is_bytes_export(e.type)) list += (list.empty() ? "" : ", ") + e.name;
      }
      return json_error(404, "not_found",
                        module.name() + ": export '" + std::string(export_name) +
                            "' not found (bytes exports: " + (list.empty() ? "none" : list) + ")");
    }
    if (!is_bytes_export(fn->type)) {
      return json_error(400, "bad_request",
                        module.name() + ": export '" + std::string(export_name) + "' has type " +
                            signature(fn->type) + ", not the bytes type (i32, i32) -> (i64)");
    }
    return std::nullopt;
  }

  HttpResponse call(const std::string& export_name, const std::string& body) override {
    auto input = std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    return instances_.with_instance(
        [&](wasm::Instance& instance) {
          auto out = instance.call_bytes(export_name, input);
          return out ? ok(std::move(out->output)) : error_response(out.error());
        },
        [](const wasm::WasmError& error) { return error_response(error); });
  }

 private:
  std::string_view kind() const override { return "bytes"; }
  std::vector<std::string> exports() const override {
    std::vector<std::string> out;
    for (const auto& e : linked_.module().exports()) {
      if (is_bytes_export(e.type)) out.push_back(e.name);
    }
    return out;
  }

  wasm::LinkedModule linked_;
  PluginInstances<wasm::Instance, wasm::WasmError, wasm::InstanceLifecycle> instances_;
};

// An unmodified Extism plugin.
class ExtismPlugin final : public ServedPlugin {
 public:
  ExtismPlugin(PluginSettings settings, std::string sha256, std::string fingerprint,
               extism::CompiledPlugin compiled)
      : ServedPlugin(std::move(settings), std::move(sha256), std::move(fingerprint)),
        compiled_(std::move(compiled)) {}

  std::optional<std::string> warm(const LoadHooks& hooks) {
    auto failed = instances_.warm(
        settings(), hooks, compiled_.module().name(), [this] { return compiled_.instantiate(); },
        extism::Error(extism::ErrorKind::instantiate, "start-up interrupted by a signal"));
    metrics_ = instances_.metrics();
    return failed;
  }

  std::optional<HttpResponse> refuse_export(std::string_view export_name) const override {
    if (compiled_.function_exists(export_name)) return std::nullopt;
    return json_error(404, "not_found", "Function not found: " + std::string(export_name));
  }

  HttpResponse call(const std::string& export_name, const std::string& body) override {
    return instances_.with_instance(
        [&](extism::Plugin& plugin) {
          auto out = plugin.call(export_name, body);
          return out ? ok(std::move(*out)) : extism_error_response(out.error());
        },
        [](const extism::Error& error) { return extism_error_response(error); });
  }

 private:
  std::string_view kind() const override { return "extism"; }
  std::vector<std::string> exports() const override {
    std::vector<std::string> out;
    for (const auto& e : compiled_.module().exports()) {
      if (compiled_.function_exists(e.name)) out.push_back(e.name);
    }
    return out;
  }

  extism::CompiledPlugin compiled_;
  PluginInstances<extism::Plugin, extism::Error, extism::PluginLifecycle> instances_;
};

bool imports_extism_kernel(const wasm::Module& module) {
  for (const auto& import : module.imports()) {
    if (import.module == "extism:host/env") return true;
  }
  return false;
}

std::expected<std::unique_ptr<ServedPlugin>, std::string> load_extism(const PluginSettings& p,
                                                                      extism::Manifest manifest,
                                                                      std::string sha256,
                                                                      std::string fingerprint,
                                                                      const LoadHooks& hooks) {
  for (const auto& [key, value] : p.config) manifest.config[key] = value;
  if (p.limits.timeout.count() > 0) manifest.timeout = p.limits.timeout;
  if (p.limits.max_memory_pages > 0) manifest.max_pages = p.limits.max_memory_pages;
  auto compiled = extism::CompiledPlugin::compile(
      manifest, {.engine = *wasm::Engine::named(p.engine), .wasi = p.wasi});
  if (!compiled)
    return std::unexpected(p.source.filename().string() + ": " + text_of(compiled.error()));
  auto plugin = std::make_unique<ExtismPlugin>(p, std::move(sha256), std::move(fingerprint),
                                               std::move(*compiled));
  if (auto failed = plugin->warm(hooks)) return std::unexpected(*failed);
  return plugin;
}

}  // namespace

ServedPlugin::ServedPlugin(PluginSettings settings, std::string source_sha256,
                           std::string fingerprint)
    : settings_(std::move(settings)),
      source_sha256_(std::move(source_sha256)),
      fingerprint_(std::move(fingerprint)),
      loaded_at_(utc_timestamp()) {}

nlohmann::ordered_json ServedPlugin::describe() const {
  nlohmann::ordered_json pool;
  if (metrics_) {
    pool = {{"policy", std::string(policy_name(settings_.pool.recycle))},
            {"max", settings_.pool.max_instances},
            {"warm", settings_.pool.warm_count},
            {"live", metrics_->live()},
            {"idle", metrics_->idle()},
            {"in_use", metrics_->in_use()}};
  }
  return {{"name", settings_.name},     {"kind", std::string(kind())},
          {"engine", settings_.engine}, {"source", settings_.source.string()},
          {"sha256", source_sha256_},   {"loaded_at", loaded_at_},
          {"exports", exports()},       {"pool", pool}};
}

std::string ServedPlugin::metrics_text() const {
  return metrics_ ? metrics_->to_prometheus(settings_.name) : std::string();
}

std::expected<std::string, std::string> source_fingerprint(const PluginSettings& p) {
  auto bytes = read_source(p);
  if (!bytes) return std::unexpected(bytes.error());
  std::string sha256 = sha256_hex(*bytes);
  if (p.source.extension() != ".json") return sha256;
  auto manifest = extism::Manifest::load_file(p.source);
  if (!manifest) return std::unexpected(p.source.string() + ": " + manifest.error().message());
  return manifest_fingerprint(sha256, *manifest);
}

std::expected<std::unique_ptr<ServedPlugin>, std::string> load_served_plugin(
    const PluginSettings& p, const LoadHooks& hooks) {
  const auto engine = wasm::Engine::named(p.engine);
  if (!engine) return std::unexpected("engine '" + p.engine + "' is not in this build");
  if (p.source.extension() == ".json") {
    auto manifest = extism::Manifest::load_file(p.source);
    if (!manifest) return std::unexpected(p.source.string() + ": " + manifest.error().message());
    auto bytes = read_source(p);
    if (!bytes) return std::unexpected(bytes.error());
    std::string sha256 = sha256_hex(*bytes);
    std::string fingerprint = manifest_fingerprint(sha256, *manifest);
    return load_extism(p, std::move(*manifest), std::move(sha256), std::move(fingerprint), hooks);
  }
  auto bytes = read_source(p);
  if (!bytes) return std::unexpected(bytes.error());
  std::string sha256 = sha256_hex(*bytes);
  auto module = wasm::Module::compile(*engine, *bytes, p.limits, p.source.filename().string());
  if (!module) return std::unexpected(text_of(module.error()));
  if (imports_extism_kernel(*module)) {
    return load_extism(p, extism::Manifest::from_wasm(*bytes, p.source.filename().string()), sha256,
                       sha256, hooks);
  }
  auto linked = wasm::Linker().define_wasi().link(*module);
  if (!linked) return std::unexpected(text_of(linked.error()));
  auto plugin = std::make_unique<BytesAbiPlugin>(p, std::move(sha256), std::move(*linked));
  if (auto failed = plugin->warm(hooks)) return std::unexpected(*failed);
  return plugin;
}

}  // namespace warmpool::cli
