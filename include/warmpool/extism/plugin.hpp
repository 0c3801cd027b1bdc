// warmpool/extism/plugin.hpp — an Extism plugin, run unmodified on wabt or V8,
// and pooled like any warmpool instance.
//
// A CompiledPlugin is a manifest compiled and linked once (the kernel, WASI,
// the host's functions); it is cheap to copy and shared by every thread. A
// Plugin is one running instance of it: one thread at a time, with its own
// guest memory, globals and vars. Calls follow the Extism Rust runtime: a
// non-zero return code or an error set by the plugin fails the call with the
// plugin's message (ErrorKind::plugin, the instance stays usable); a trap, a
// timeout or the memory limit poisons the instance (healthy() turns false).
//
//   namespace ex = warmpool::extism;
//   auto manifest = ex::Manifest::load_file("count_vowels.wasm");
//   auto compiled = ex::CompiledPlugin::compile(*manifest, {.engine = *wasm::Engine::named("v8")});
//   using Pool = warmpool::InstancePool<ex::Plugin, ex::Error, ex::PluginLifecycle>;
//   auto pool = Pool::create({.max_instances = 8, .recycle = warmpool::Recycle::Reset},
//                            [compiled = *compiled] { return compiled.instantiate(); });
//   auto out = pool->checkout()->get().call("count_vowels", "hello world");
//
// Thread binding, as for wasm::Instance: a thread making many calls in a row
// holds the plugin (every module of it) on itself; on V8 each call then skips
// entering the isolate afresh. The pool's form is checkout_bound (pool.hpp).
//
//   {
//     auto bound = plugin->bind_to_this_thread();   // std::expected
//     for (auto& input : inputs) plugin->call("count_vowels", input);
//   }                                              // the binding ends here
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "warmpool/extism/error.hpp"
#include "warmpool/extism/kernel.hpp"
#include "warmpool/extism/manifest.hpp"
#include "warmpool/lifecycle.hpp"
#include "warmpool/wasm/engine.hpp"
#include "warmpool/wasm/host_function.hpp"
#include "warmpool/wasm/instance.hpp"

namespace warmpool::extism {

namespace internal {
struct ModuleGroup;
struct PluginBinding;
}  // namespace internal

// A host function a plugin imports as `module.name`; it reaches the calling
// plugin's kernel with Kernel::of(caller) (see kernel.hpp).
struct HostFunctionDefinition {
  std::string module = "extism:host/user";
  std::string name;
  wasm::HostFunction function;
};

struct PluginOptions {
  wasm::Engine engine = wasm::Engine::wabt();
  // Provide wasi_snapshot_preview1 (the Extism hosts' `with_wasi`/`useWasi`).
  bool wasi = false;
  std::vector<HostFunctionDefinition> host_functions{};
  // nullopt: logging off (get_log_level answers 0x7fffffff).
  std::optional<LogLevel> log_level{};
  // Shared by every instance: under a pool it is called from several threads at once.
  LogSink log_sink{};
  // http_headers gives the plugin the last response's headers (the Rust
  // runtime's with_http_response_headers); off, it answers 0.
  bool http_response_headers = false;
};

class Plugin;

class CompiledPlugin {
 public:
  // Every module of the manifest is compiled; imports naming another module
  // call into that module's instance. Errors: link (an import nobody
  // provides, or of the wrong type), compile, or an invalid manifest.
  static std::expected<CompiledPlugin, Error> compile(const Manifest& manifest,
                                                      PluginOptions options = {});

  // A new instance, initialised (`_initialize` or `__wasm_call_ctors`, then
  // `hs_init`): a pool's factory.
  std::expected<Plugin, Error> instantiate() const;

  const wasm::Module& module() const;
  // An export callable as an Extism function: () -> () or () -> (i32).
  bool function_exists(std::string_view name) const;

  struct State;

 private:
  friend class Plugin;
  explicit CompiledPlugin(std::shared_ptr<const State> state) noexcept : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

class Plugin {
 public:
  // compile() then instantiate(), for a plugin used once.
  static std::expected<Plugin, Error> create(const Manifest& manifest, PluginOptions options = {});

  // Holds the plugin on the thread that made it until it is destroyed; calls
  // in between are cheaper on V8 (wabt: no change, same checks). While it
  // exists, calls from other threads are refused (ErrorKind::trap, "...: plugin
  // is bound to another thread ..."), and the misuse the wasm API cannot
  // survive stops the process with a message: ending it on another thread,
  // destroying the plugin first, reset() from another thread. Bindings nest;
  // the plugin may move, but between threads only while unbound. Outputs,
  // vars and recycling are the same as without a binding.
  class [[nodiscard]] ThreadBinding {
   public:
    ThreadBinding(ThreadBinding&& other) noexcept
        : binding_(std::exchange(other.binding_, nullptr)) {}
    ThreadBinding& operator=(ThreadBinding&&) = delete;
    ThreadBinding(const ThreadBinding&) = delete;
    ThreadBinding& operator=(const ThreadBinding&) = delete;
    ~ThreadBinding();

   private:
    friend class Plugin;
    explicit ThreadBinding(internal::PluginBinding* binding) noexcept : binding_(binding) {}
    internal::PluginBinding* binding_;
  };
  // Binds the plugin to the calling thread (ErrorKind::trap when it is bound to another one).
  std::expected<ThreadBinding, Error> bind_to_this_thread();

  Plugin(Plugin&&) noexcept;
  Plugin& operator=(Plugin&&) noexcept;
  ~Plugin();

  // Calls export `function` with `input`; the bytes it output, or the error.
  // `user_context` is what host functions see as Kernel::user_context() during
  // this call.
  std::expected<std::string, Error> call(std::string_view function,
                                         std::span<const std::uint8_t> input,
                                         void* user_context = nullptr);
  std::expected<std::string, Error> call(std::string_view function, std::string_view input,
                                         void* user_context = nullptr) {
    return call(function,
                std::span(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()),
                user_context);
  }

  bool function_exists(std::string_view name) const;

  // False after a trap, timeout or memory limit: throw the instance away.
  bool healthy() const noexcept { return instance_.healthy() || rebuild_before_next_call_; }
  // Back to the just-created state: guest memory, globals and vars. False
  // when that is impossible and the instance must be discarded.
  bool reset();

  // What the guest wrote to WASI fd 1 / fd 2 during the most recent call.
  const std::string& last_stdout() const;
  const std::string& last_stderr() const;

  // The kernel: vars, config, and the memory host functions work with.
  Kernel& kernel();

 private:
  friend class CompiledPlugin;
  Plugin(std::shared_ptr<const CompiledPlugin::State> state, wasm::Instance instance,
         std::shared_ptr<internal::ModuleGroup> group);
  // reset() by a new instance of every module; a binding moves to the new ones.
  bool rebuild();

  std::shared_ptr<const CompiledPlugin::State> state_;
  // The plugin's other modules (null when it has only one): kept alive, and
  // destroyed after the main instance, which calls into them.
  std::shared_ptr<internal::ModuleGroup> group_;
  wasm::Instance instance_;
  // After `_start` or a clean proc_exit(0) the guest is spent; like the Rust
  // runtime, the next call gets a fresh instance (vars included).
  bool rebuild_before_next_call_ = false;
  // Why the instance was poisoned, repeated to every later call.
  std::string stopped_by_;
  // The export the previous call named: a run of calls to one function looks it up once.
  std::optional<wasm::Function> last_function_;
  std::unique_ptr<internal::PluginBinding> binding_;
};

// The pool lifecycle: Reset and Fresh give every call the just-created state.
struct PluginLifecycle {
  static bool is_healthy(const Plugin& plugin) noexcept { return plugin.healthy(); }
  static bool reset(Plugin& plugin) { return plugin.reset(); }
};
static_assert(PoolLifecycle<PluginLifecycle, Plugin>);

}  // namespace warmpool::extism
