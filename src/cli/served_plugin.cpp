#include "served_plugin.hpp"

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

#include "error_status.hpp"
#include "pool_flags.hpp"
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

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
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

// A plugin written to warmpool's bytes ABI.
class BytesAbiPlugin final : public ServedPlugin {
 public:
  using Pool = InstancePool<wasm::Instance, wasm::WasmError, wasm::InstanceLifecycle>;

  BytesAbiPlugin(PluginSettings settings, std::string sha256, wasm::LinkedModule linked)
      : ServedPlugin(std::move(settings), std::move(sha256)), linked_(std::move(linked)) {}

  std::optional<std::string> warm(const LoadHooks& hooks) {
    // Refill threads keep using the factory after the warm-up: the hook is
    // copied, and consulted only while the server is starting.
    auto factory = [this,
                    interrupted =
                        hooks.interrupted]() -> std::expected<wasm::Instance, wasm::WasmError> {
      if (starting_.load(std::memory_order_relaxed) && interrupted()) {
        return std::unexpected(
            wasm::WasmError(wasm::ErrorKind::instantiate, "start-up interrupted by a signal"));
      }
      return wasm::Instance::instantiate(linked_);
    };
    if (settings().no_pool) {
      auto probe = factory();
      if (!probe) return text_of(probe.error());
      return std::nullopt;
    }
    if (settings().pool.warm_count > 0) hooks.warming(settings(), linked_.module().name());
    auto pool = Pool::create(settings().pool, factory);
    if (!pool) return text_of(pool.error());
    starting_ = false;
    pool_.emplace(std::move(*pool));
    metrics_ = pool_->metrics();
    return std::nullopt;
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
    if (!pool_) {
      auto instance = wasm::Instance::instantiate(linked_);
      if (!instance) return error_response(instance.error());
      auto out = instance->call_bytes(export_name, input);
      return out ? ok(std::move(out->output)) : error_response(out.error());
    }
    auto lease = pool_->checkout();
    if (!lease) return error_response(lease.error());
    auto out = lease->get().call_bytes(export_name, input);
    return out ? ok(std::move(out->output)) : error_response(out.error());
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
  std::atomic<bool> starting_{true};
  std::optional<Pool> pool_;  // last: its refill threads use the members above
};

// An unmodified Extism plugin.
class ExtismPlugin final : public ServedPlugin {
 public:
  using Pool = InstancePool<extism::Plugin, extism::Error, extism::PluginLifecycle>;

  ExtismPlugin(PluginSettings settings, std::string sha256, extism::CompiledPlugin compiled)
      : ServedPlugin(std::move(settings), std::move(sha256)), compiled_(std::move(compiled)) {}

  std::optional<std::string> warm(const LoadHooks& hooks) {
    // Refill threads keep using the factory after the warm-up: the hook is
    // copied, and consulted only while the server is starting.
    auto factory = [this, interrupted =
                              hooks.interrupted]() -> std::expected<extism::Plugin, extism::Error> {
      if (starting_.load(std::memory_order_relaxed) && interrupted()) {
        return std::unexpected(
            extism::Error(extism::ErrorKind::instantiate, "start-up interrupted by a signal"));
      }
      return compiled_.instantiate();
    };
    if (settings().no_pool) {
      auto probe = factory();
      if (!probe) return text_of(probe.error());
      return std::nullopt;
    }
    if (settings().pool.warm_count > 0) hooks.warming(settings(), compiled_.module().name());
    auto pool = Pool::create(settings().pool, factory);
    if (!pool) return text_of(pool.error());
    starting_ = false;
    pool_.emplace(std::move(*pool));
    metrics_ = pool_->metrics();
    return std::nullopt;
  }

  std::optional<HttpResponse> refuse_export(std::string_view export_name) const override {
    if (compiled_.function_exists(export_name)) return std::nullopt;
    return json_error(404, "not_found", "Function not found: " + std::string(export_name));
  }

  HttpResponse call(const std::string& export_name, const std::string& body) override {
    if (!pool_) {
      auto plugin = compiled_.instantiate();
      if (!plugin) return extism_error_response(plugin.error());
      auto out = plugin->call(export_name, body);
      return out ? ok(std::move(*out)) : extism_error_response(out.error());
    }
    auto lease = pool_->checkout();
    if (!lease) return extism_error_response(lease.error());
    auto out = lease->get().call(export_name, body);
    return out ? ok(std::move(*out)) : extism_error_response(out.error());
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
  std::atomic<bool> starting_{true};
  std::optional<Pool> pool_;  // last: its refill threads use the members above
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
                                                                      const LoadHooks& hooks) {
  for (const auto& [key, value] : p.config) manifest.config[key] = value;
  if (p.limits.timeout.count() > 0) manifest.timeout = p.limits.timeout;
  if (p.limits.max_memory_pages > 0) manifest.max_pages = p.limits.max_memory_pages;
  auto compiled = extism::CompiledPlugin::compile(
      manifest, {.engine = *wasm::Engine::named(p.engine), .wasi = p.wasi});
  if (!compiled)
    return std::unexpected(p.source.filename().string() + ": " + text_of(compiled.error()));
  auto plugin = std::make_unique<ExtismPlugin>(p, std::move(sha256), std::move(*compiled));
  if (auto failed = plugin->warm(hooks)) return std::unexpected(*failed);
  return plugin;
}

}  // namespace

ServedPlugin::ServedPlugin(PluginSettings settings, std::string source_sha256)
    : settings_(std::move(settings)),
      source_sha256_(std::move(source_sha256)),
      loaded_at_(utc_now()) {}

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

std::expected<std::unique_ptr<ServedPlugin>, std::string> load_served_plugin(
    const PluginSettings& p, const LoadHooks& hooks) {
  const auto engine = wasm::Engine::named(p.engine);
  if (!engine) return std::unexpected("engine '" + p.engine + "' is not in this build");
  if (p.source.extension() == ".json") {
    auto manifest = extism::Manifest::load_file(p.source);
    if (!manifest) return std::unexpected(p.source.string() + ": " + manifest.error().message());
    auto bytes = read_source(p);
    if (!bytes) return std::unexpected(bytes.error());
    return load_extism(p, std::move(*manifest), sha256_hex(*bytes), hooks);
  }
  auto bytes = read_source(p);
  if (!bytes) return std::unexpected(bytes.error());
  std::string sha256 = sha256_hex(*bytes);
  auto module = wasm::Module::compile(*engine, *bytes, p.limits, p.source.filename().string());
  if (!module) return std::unexpected(text_of(module.error()));
  if (imports_extism_kernel(*module)) {
    return load_extism(p, extism::Manifest::from_wasm(*bytes, p.source.filename().string()),
                       std::move(sha256), hooks);
  }
  auto linked = wasm::Linker().define_wasi().link(*module);
  if (!linked) return std::unexpected(text_of(linked.error()));
  auto plugin = std::make_unique<BytesAbiPlugin>(p, std::move(sha256), std::move(*linked));
  if (auto failed = plugin->warm(hooks)) return std::unexpected(*failed);
  return plugin;
}

}  // namespace warmpool::cli
