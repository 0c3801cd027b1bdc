#include "plugin_data.hpp"

#include "host_env.hpp"

namespace warmpool::extism {

Kernel* Kernel::of(wasm::Caller& caller) noexcept {
  auto* data = caller.data<internal::PluginData>();
  if (data == nullptr) return nullptr;
  // Before the plugin's instantiation returns (its start function, `_initialize`), only the
  // caller knows the kernel instance linked beside it.
  if (wasm::Instance* linked = caller.linked_instance(internal::kEnvModule)) {
    data->kernel->attach(*linked);
  }
  return data->kernel.get();
}

namespace internal {
namespace {
thread_local SharedKernelScope* current_scope = nullptr;
}

SharedKernelScope::SharedKernelScope(std::shared_ptr<Kernel> kernel,
                                     std::shared_ptr<WasiFiles> files,
                                     std::weak_ptr<ModuleGroup> group)
    : previous_(current_scope),
      kernel_(std::move(kernel)),
      files_(std::move(files)),
      group_(std::move(group)) {
  current_scope = this;
}

SharedKernelScope::~SharedKernelScope() {
  current_scope = previous_;
}

PluginData SharedKernelScope::host_data(const std::shared_ptr<const KernelSettings>& settings,
                                        const std::vector<PathMapping>& preopens,
                                        wasm::Engine engine) {
  if (current_scope != nullptr) {
    return {current_scope->kernel_, current_scope->files_, current_scope->group_};
  }
  return {std::make_shared<Kernel>(settings, engine),
          preopens.empty() ? nullptr : std::make_shared<WasiFiles>(preopens),
          {}};
}

}  // namespace internal
}  // namespace warmpool::extism
