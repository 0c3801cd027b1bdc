// CompiledPlugin and Plugin: an Extism plugin on the engine-neutral wasm API,
// with the call sequence of the Rust runtime (plugin.rs: raw_call).
#include "warmpool/extism/plugin.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "host_env.hpp"
#include "kernel_module.hpp"
#include "module_links.hpp"
#include "plugin_data.hpp"
#include "warmpool/wasm/linker.hpp"
#include "warmpool/wasm/module.hpp"

namespace warmpool::extism {

// One module of the plugin, linked, with what initialises its instances
// after `_initialize` (which the wasm API runs itself).
struct LinkedPluginModule {
  wasm::LinkedModule linked;
  std::optional<wasm::Function> constructors;  // __wasm_call_ctors, when there is no _initialize
  std::optional<wasm::Function> haskell_init;  // hs_init(0, 0)
};

struct CompiledPlugin::State {
  std::vector<LinkedPluginModule> modules;  // manifest order
  std::size_t main_index;
  std::shared_ptr<const KernelSettings> settings;
  std::vector<PathMapping> preopens;  // allowed_paths, when WASI is on
};

namespace {

constexpr std::uint64_t kPageBytes = 64 * 1024;

Error from_wasm(const wasm::WasmError& e, ErrorKind otherwise) {
  switch (e.kind()) {
    case wasm::ErrorKind::deadline: return {ErrorKind::timeout, "timeout: " + e.message()};
    case wasm::ErrorKind::memory_limit: return {ErrorKind::memory_limit, "oom: " + e.message()};
    case wasm::ErrorKind::trap:
    case wasm::ErrorKind::fuel_exhausted: return {ErrorKind::trap, e.message()};
    case wasm::ErrorKind::compile: return {ErrorKind::compile, e.message()};
    case wasm::ErrorKind::link: return {ErrorKind::link, e.message()};
    case wasm::ErrorKind::io: return {ErrorKind::io, e.message()};
    default: return {otherwise, e.message()};
  }
}

// An Extism-callable export: () -> () or () -> (i32).
bool is_callable(const wasm::FunctionType& type) {
  return type.params.empty() && (type.results.empty() || (type.results.size() == 1 &&
                                                          type.results[0] == wasm::ValueType::i32));
}

std::shared_ptr<const KernelSettings> kernel_settings(const Manifest& manifest,
                                                      const PluginOptions& options) {
  auto settings = std::make_shared<KernelSettings>();
  settings->config = manifest.config;
  settings->allowed_hosts = manifest.allowed_hosts;
  settings->max_var_bytes = manifest.max_var_bytes;
  if (manifest.max_pages) settings->max_memory_bytes = *manifest.max_pages * kPageBytes;
  settings->log_level = options.log_level;
  settings->log_sink = options.log_sink;
  settings->max_http_response_bytes = manifest.max_http_response_bytes;
  settings->http_response_headers = options.http_response_headers;
  settings->timeout = manifest.timeout;
  return settings;
}

// A plugin of one module calls the kernel module's exports directly (kernel_module.hpp); the
// modules of a larger plugin share one kernel, which has an instance of its own, through the
// host functions. So does every plugin on wabt, whose interpreter runs the kernel's code
// slower than a host call (input_load_u64 430 against 155 ns).
bool links_kernel(const PluginOptions& options, std::size_t module_count) {
  return module_count == 1 && options.engine != wasm::Engine::wabt();
}

wasm::Linker plugin_linker(const PluginOptions& options,
                           std::shared_ptr<const KernelSettings> settings,
                           std::vector<PathMapping> preopens, bool kernel_linked) {
  wasm::Linker linker;
  internal::define_kernel_functions(linker);
  if (kernel_linked) {
    linker.define_instance(internal::kEnvModule, internal::kernel_module(options.engine));
  }
  if (options.wasi) {
    linker.define_wasi();
    internal::define_wasi_extras(linker);
    if (!preopens.empty()) internal::define_wasi_files(linker);
  }
  for (const HostFunctionDefinition& f : options.host_functions) {
    linker.define(f.module, f.name, f.function);
  }
  linker.host_data(
      [settings = std::move(settings), preopens = std::move(preopens), engine = options.engine] {
        return internal::SharedKernelScope::host_data(settings, preopens, engine);
      });
  return linker;
}

std::optional<wasm::Function> init_function(const wasm::Module& module, std::string_view name,
                                            const wasm::FunctionType& type) {
  const wasm::ExportedFunction* e = module.find_export(name);
  if (e == nullptr || e->type != type) return std::nullopt;
  auto f = module.function(name);
  return f ? std::optional(*f) : std::nullopt;
}

std::expected<void, Error> initialise(const LinkedPluginModule& module, wasm::Instance& instance) {
  instance.host_data<internal::PluginData>()->kernel->begin_call({}, nullptr);
  if (module.constructors) {
    if (auto done = instance.call_raw(*module.constructors, {}, {}); !done) {
      return std::unexpected(from_wasm(done.error(), ErrorKind::instantiate));
    }
  }
  if (module.haskell_init) {
    const std::array<std::uint64_t, 2> no_arguments{0, 0};
    if (auto done = instance.call_raw(*module.haskell_init, no_arguments, {}); !done) {
      return std::unexpected(from_wasm(done.error(), ErrorKind::instantiate));
    }
  }
  return {};
}

// The kernel (host data, also when restored from a copy by a reset) works in the memory of
// the kernel instance linked beside the plugin's, when there is one.
void attach_kernel(wasm::Instance& instance) {
  if (wasm::Instance* kernel = instance.linked_instance(internal::kEnvModule)) {
    instance.host_data<internal::PluginData>()->kernel->attach(*kernel);
  }
}

std::expected<wasm::Instance, Error> instantiate_module(const LinkedPluginModule& module) {
  auto instance = wasm::Instance::instantiate(module.linked);
  if (!instance) return std::unexpected(from_wasm(instance.error(), ErrorKind::instantiate));
  attach_kernel(*instance);
  if (auto done = initialise(module, *instance); !done) return std::unexpected(done.error());
  return std::move(*instance);
}

std::expected<LinkedPluginModule, Error> link_module(
    const std::vector<internal::NamedModule>& modules, std::size_t index,
    const PluginOptions& options, const CompiledPlugin::State& state) {
  wasm::Linker linker =
      plugin_linker(options, state.settings, state.preopens, links_kernel(options, modules.size()));
  if (auto done = internal::define_module_imports(linker, modules, index); !done) {
    return std::unexpected(done.error());
  }
  const wasm::Module& module = modules[index].module;
  auto linked = linker.link(module);
  if (!linked) return std::unexpected(from_wasm(linked.error(), ErrorKind::link));
  const wasm::FunctionType no_arguments{};
  const wasm::FunctionType argc_argv{{wasm::ValueType::i32, wasm::ValueType::i32}, {}};
  LinkedPluginModule linked_module{*linked, std::nullopt,
                                   init_function(module, "hs_init", argc_argv)};
  if (module.find_export("_initialize") == nullptr) {
    linked_module.constructors = init_function(module, "__wasm_call_ctors", no_arguments);
  }
  return linked_module;
}

// What the wasm API stops the process for, said in the plugin's terms first.
[[noreturn]] void plugin_misuse(std::string_view what) {
  std::fprintf(stderr, "warmpool: extism plugin: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

// Binds every module's instance to this thread; the wasm API's own check
// decides between two threads binding at once.
std::expected<std::vector<wasm::Instance::ThreadBinding>, Error> bind_modules(
    wasm::Instance& main, internal::ModuleGroup* group) {
  std::vector<wasm::Instance*> instances{&main};
  if (group != nullptr) {
    for (std::optional<wasm::Instance>& other : group->instances) {
      if (other) instances.push_back(&*other);
    }
  }
  std::vector<wasm::Instance::ThreadBinding> held;
  for (wasm::Instance* instance : instances) {
    auto binding = instance->bind_to_this_thread();
    if (!binding) return std::unexpected(from_wasm(binding.error(), ErrorKind::trap));
    held.push_back(std::move(*binding));
  }
  return held;
}

}  // namespace

std::expected<CompiledPlugin, Error> CompiledPlugin::compile(const Manifest& manifest,
                                                             PluginOptions options) {
  const WasmSource* main = manifest.main_module();
  if (main == nullptr) return std::unexpected(Error(ErrorKind::manifest, "manifest: wasm: empty"));
  wasm::Limits limits;
  if (manifest.timeout) limits.timeout = *manifest.timeout;
  if (manifest.max_pages) limits.max_memory_pages = *manifest.max_pages;
  std::vector<internal::NamedModule> modules;
  for (const WasmSource& source : manifest.wasm) {
    auto module = wasm::Module::compile(options.engine, source.bytes, limits, source.label);
    if (!module) return std::unexpected(from_wasm(module.error(), ErrorKind::compile));
    modules.push_back({&source == main ? std::string("main") : source.name, *module});
  }

  auto state = std::make_shared<State>();
  state->main_index = static_cast<std::size_t>(main - manifest.wasm.data());
  state->settings = kernel_settings(manifest, options);
  if (options.wasi) {
    for (const PathMapping& mapping : manifest.allowed_paths) {
      if (!std::filesystem::is_directory(mapping.host)) {
        return std::unexpected(
            Error(ErrorKind::manifest,
                  "manifest: allowed_paths: '" + mapping.host.string() + "' is not a directory"));
      }
    }
    state->preopens = manifest.allowed_paths;
  }
  for (std::size_t i = 0; i < modules.size(); ++i) {
    auto linked = link_module(modules, i, options, *state);
    if (!linked) return std::unexpected(linked.error());
    state->modules.push_back(std::move(*linked));
  }
  return CompiledPlugin(std::move(state));
}

std::expected<Plugin, Error> CompiledPlugin::instantiate() const {
  const LinkedPluginModule& main = state_->modules[state_->main_index];
  if (state_->modules.size() == 1) {
    auto instance = instantiate_module(main);
    if (!instance) return std::unexpected(instance.error());
    return Plugin(state_, std::move(*instance), nullptr);
  }
  // Every module of the plugin shares one kernel; imports between them go
  // through the group.
  auto group = std::make_shared<internal::ModuleGroup>();
  group->instances.resize(state_->modules.size());
  internal::SharedKernelScope scope(
      std::make_shared<Kernel>(state_->settings, module().engine()),
      state_->preopens.empty() ? nullptr : std::make_shared<internal::WasiFiles>(state_->preopens),
      group);
  for (std::size_t i = 0; i < state_->modules.size(); ++i) {
    if (i == state_->main_index) continue;
    auto instance = instantiate_module(state_->modules[i]);
    if (!instance) return std::unexpected(instance.error());
    group->instances[i].emplace(std::move(*instance));
  }
  auto instance = instantiate_module(main);
  if (!instance) return std::unexpected(instance.error());
  return Plugin(state_, std::move(*instance), std::move(group));
}

const wasm::Module& CompiledPlugin::module() const {
  return state_->modules[state_->main_index].linked.module();
}

bool CompiledPlugin::function_exists(std::string_view name) const {
  const wasm::ExportedFunction* e = module().find_export(name);
  return e != nullptr && is_callable(e->type);
}

Plugin::Plugin(std::shared_ptr<const CompiledPlugin::State> state, wasm::Instance instance,
               std::shared_ptr<internal::ModuleGroup> group)
    : state_(std::move(state)),
      group_(std::move(group)),
      instance_(std::move(instance)),
      binding_(std::make_unique<internal::PluginBinding>()) {}

Plugin::Plugin(Plugin&&) noexcept = default;
Plugin& Plugin::operator=(Plugin&&) noexcept = default;

Plugin::~Plugin() {
  if (binding_ && binding_->depth > 0) {
    plugin_misuse("plugin destroyed while bound to a thread (end its ThreadBinding first)");
  }
}

std::expected<Plugin::ThreadBinding, Error> Plugin::bind_to_this_thread() {
  internal::PluginBinding& binding = *binding_;
  const auto here = std::this_thread::get_id();
  const auto bound = binding.thread.load(std::memory_order_acquire);
  if (bound != here) {
    if (bound != std::thread::id{}) {
      return std::unexpected(Error(ErrorKind::trap,
                                   "cannot bind the plugin to this thread: it is bound to "
                                   "another thread"));
    }
    auto instances = bind_modules(instance_, group_.get());
    if (!instances) return std::unexpected(instances.error());
    binding.instances = std::move(*instances);
    binding.thread.store(here, std::memory_order_relaxed);
  }
  ++binding.depth;
  return ThreadBinding(&binding);
}

Plugin::ThreadBinding::~ThreadBinding() {
  if (binding_ == nullptr) return;
  if (binding_->thread.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    plugin_misuse(
        "a thread binding ended on another thread than the one it binds to (a bound pool "
        "checkout must be released on the thread that took it)");
  }
  if (--binding_->depth > 0) return;
  // The wasm bindings end after the plugin reads as unbound: a thread that
  // binds next acquires them from the wasm API, so it sees this one's writes.
  auto ending = std::move(binding_->instances);
  binding_->thread.store(std::thread::id{}, std::memory_order_release);
  ending.clear();
}

std::expected<Plugin, Error> Plugin::create(const Manifest& manifest, PluginOptions options) {
  auto compiled = CompiledPlugin::compile(manifest, std::move(options));
  if (!compiled) return std::unexpected(compiled.error());
  return compiled->instantiate();
}

bool Plugin::function_exists(std::string_view name) const {
  return CompiledPlugin(state_).function_exists(name);
}

const std::string& Plugin::last_stdout() const {
  auto* data = const_cast<wasm::Instance&>(instance_).host_data<internal::PluginData>();
  return data->files ? data->files->stdout_text : instance_.last_stdout();
}

const std::string& Plugin::last_stderr() const {
  auto* data = const_cast<wasm::Instance&>(instance_).host_data<internal::PluginData>();
  return data->files ? data->files->stderr_text : instance_.last_stderr();
}

Kernel& Plugin::kernel() {
  return *instance_.host_data<internal::PluginData>()->kernel;
}

bool Plugin::rebuild() {
  // The old instances are unbound before they go and the new ones bound
  // before the caller goes on; other threads stay refused by `thread`.
  const bool bound = binding_->depth > 0;
  binding_->instances.clear();
  auto fresh = CompiledPlugin(state_).instantiate();
  if (fresh) {
    instance_ = std::move(fresh->instance_);
    group_ = std::move(fresh->group_);
    rebuild_before_next_call_ = false;
    stopped_by_.clear();
    last_function_.reset();
  }
  if (bound) {
    auto instances = bind_modules(instance_, group_.get());
    if (!instances) plugin_misuse("reset(): " + instances.error().message());
    binding_->instances = std::move(*instances);
  }
  return fresh.has_value();
}

bool Plugin::reset() {
  if (binding_->bound_elsewhere()) {
    plugin_misuse("reset() from another thread than the one the plugin is bound to");
  }
  // A plugin of several modules is reset by building all of them again: their
  // instances share one kernel, which a per-instance reset cannot restore.
  if (rebuild_before_next_call_ || group_) return rebuild();
  const bool was_healthy = instance_.healthy();
  if (!instance_.reset()) {
    // wabt cannot shrink a grown memory, such as kernel memory after a large call: the
    // plugin is built again instead.
    return was_healthy && rebuild();
  }
  attach_kernel(instance_);
  return initialise(state_->modules[state_->main_index], instance_).has_value();
}

std::expected<std::string, Error> Plugin::call(std::string_view function,
                                               std::span<const std::uint8_t> input,
                                               void* user_context) {
  if (binding_->bound_elsewhere()) [[unlikely]] {
    return std::unexpected(
        Error(ErrorKind::trap, std::string(function) +
                                   ": plugin is bound to another thread "
                                   "(Plugin::bind_to_this_thread); call it there, or end the "
                                   "binding first"));
  }
  if (rebuild_before_next_call_ && !reset()) {
    return std::unexpected(Error(ErrorKind::instantiate,
                                 std::string(function) + ": could not re-create the plugin after "
                                                         "_start or proc_exit"));
  }
  if (!instance_.healthy()) {
    return std::unexpected(Error(ErrorKind::trap, std::string(function) +
                                                      ": the plugin was stopped by an earlier "
                                                      "call; create a new one (" +
                                                      stopped_by_ + ")"));
  }
  if (!last_function_ || last_function_->name() != function) {
    const wasm::Module& module = instance_.module();
    const wasm::ExportedFunction* e = module.find_export(function);
    if (e == nullptr || !is_callable(e->type)) {
      return std::unexpected(
          Error(ErrorKind::not_found, "Function not found: " + std::string(function)));
    }
    auto handle = module.function(function);
    if (!handle) return std::unexpected(from_wasm(handle.error(), ErrorKind::not_found));
    last_function_.emplace(*handle);
  }
  const wasm::Function& handle = *last_function_;

  // Setting the kernel up, the call and reading the output each enter the engine (V8: take
  // the isolate's lock); an unbound plugin is held on this thread for the three at once.
  std::optional<wasm::Instance::ThreadBinding> held;
  if (binding_->depth == 0) {
    if (auto bound = instance_.bind_to_this_thread()) held.emplace(std::move(*bound));
  }
  Kernel& k = kernel();
  k.begin_call(input, user_context);
  if (auto& files = instance_.host_data<internal::PluginData>()->files) {
    files->stdout_text.clear();
    files->stderr_text.clear();
  }
  std::array<std::uint64_t, 1> results{};
  auto done =
      instance_.call_raw(handle, {}, std::span(results.data(), handle.type().results.size()));
  // The Rust runtime rebuilds the store after `_start`; a clean proc_exit(0)
  // leaves the instance spent, so the same applies.
  if (function == "_start" || (done && !instance_.healthy())) rebuild_before_next_call_ = true;
  if (!done) {
    Error error = from_wasm(done.error(), ErrorKind::trap);
    if (!instance_.healthy()) stopped_by_ = error.message();
    return std::unexpected(std::move(error));
  }

  const auto rc = static_cast<std::int32_t>(results[0]);
  if (auto message = k.error_text(); !message.empty()) {
    return std::unexpected(Error(ErrorKind::plugin, std::string(message), rc));
  }
  if (rc != 0) {
    return std::unexpected(
        Error(ErrorKind::plugin, "Returned non-zero exit code: " + std::to_string(rc), rc));
  }
  auto output = k.output();
  if (!output) return std::unexpected(Error(ErrorKind::plugin, output.error()));
  return std::string(reinterpret_cast<const char*>(output->data()), output->size());
}

}  // namespace warmpool::extism
