// The host data of every wasm instance of an Extism plugin: the kernel and
// the WASI preopens, shared by all modules of one plugin, and the plugin's
// other modules, which imports between modules call into.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "warmpool/extism/kernel.hpp"
#include "warmpool/wasm/instance.hpp"
#include "wasi_files.hpp"

namespace warmpool::extism::internal {

// The instances of a plugin's modules other than main, by manifest index
// (main's slot stays empty).
struct ModuleGroup {
  std::vector<std::optional<wasm::Instance>> instances;
};

struct PluginData {
  std::shared_ptr<Kernel> kernel;
  std::shared_ptr<WasiFiles> files;  // null without allowed_paths
  std::weak_ptr<ModuleGroup> group;  // weak: the group's instances hold PluginData too

  PluginData(std::shared_ptr<Kernel> k, std::shared_ptr<WasiFiles> f, std::weak_ptr<ModuleGroup> g)
      : kernel(std::move(k)), files(std::move(f)), group(std::move(g)) {}
  // Instance::reset restores host data from a copy: a copy has its own kernel
  // and descriptor table.
  PluginData(const PluginData& other)
      : kernel(std::make_shared<Kernel>(*other.kernel)),
        files(other.files ? std::make_shared<WasiFiles>(*other.files) : nullptr),
        group(other.group) {}
  PluginData(PluginData&&) noexcept = default;
  PluginData& operator=(const PluginData&) = delete;
  PluginData& operator=(PluginData&&) noexcept = default;
};

// Which thread a Plugin is bound to (Plugin::bind_to_this_thread). On the heap
// so that a Plugin may move while bound and its ThreadBindings stay valid.
struct PluginBinding {
  // Read by every call from any thread: a call from another one is refused
  // before it touches the kernel.
  std::atomic<std::thread::id> thread{};
  // Written only by the bound thread.
  std::size_t depth = 0;
  std::vector<wasm::Instance::ThreadBinding> instances;  // every module's, while depth > 0

  bool bound_elsewhere() const noexcept {
    const auto bound = thread.load(std::memory_order_relaxed);
    return bound != std::thread::id{} && bound != std::this_thread::get_id();
  }
};

// While the modules of one plugin are instantiated on this thread, each gets
// the same kernel and group; outside that, every instance makes its own kernel.
class SharedKernelScope {
 public:
  SharedKernelScope(std::shared_ptr<Kernel> kernel, std::shared_ptr<WasiFiles> files,
                    std::weak_ptr<ModuleGroup> group);
  ~SharedKernelScope();
  SharedKernelScope(const SharedKernelScope&) = delete;
  SharedKernelScope& operator=(const SharedKernelScope&) = delete;

  // The host data for an instance being created now; `engine` runs its kernel module when
  // none is linked beside it.
  static PluginData host_data(const std::shared_ptr<const KernelSettings>& settings,
                              const std::vector<PathMapping>& preopens, wasm::Engine engine);

 private:
  SharedKernelScope* previous_;
  std::shared_ptr<Kernel> kernel_;
  std::shared_ptr<WasiFiles> files_;
  std::weak_ptr<ModuleGroup> group_;
};

}  // namespace warmpool::extism::internal
