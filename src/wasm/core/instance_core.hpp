// wasm/core/instance_core.hpp — internal: an instance's engine-neutral state and the logic both
// engines share: limits around a call, why a call stopped, the start function and
// `_initialize`, host function dispatch, the refusal of a stopped instance, and the linked
// instances it owns (Linker::define_instance).
//
// Every operation that runs guest code follows the same shape:
//
//   Entered entered(*core.backend);          // the engine's per-thread scope (V8: locker)
//   CallScope call(core);                    // fuel slice, deadline, captured output
//   auto r = core.run(index, args, results); // poisons and classifies on failure
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "warmpool/wasm/instance.hpp"
#include "wasm/common/fuel.hpp"
#include "wasm/common/wasi.hpp"
#include "wasm/common/watchdog.hpp"
#include "wasm/core/backend.hpp"
#include "wasm/core/linked_module.hpp"
#include "wasm/core/module_impl.hpp"

namespace warmpool::wasm::internal {

class InstanceCore final : public InstanceHead, public ImportHandler {
 public:
  // Why the running call was stopped from the host side.
  enum class Stop { none, fuel, deadline, exit, host };

  explicit InstanceCore(LinkedModule linked);
  ~InstanceCore();
  InstanceCore(const InstanceCore&) = delete;
  InstanceCore& operator=(const InstanceCore&) = delete;

  // Creates the host data, the linked instances and the engine's instance, then build().
  std::expected<void, WasmError> instantiate();
  enum class Reset { failed, in_place, instantiated_again };
  Reset reset();

  // The linked instance for import module `module`, or null.
  Instance* linked_instance(std::string_view module) noexcept;

  bool call_import(std::uint32_t index, std::span<const std::uint64_t> args,
                   std::span<std::uint64_t> results) override;

  // Runs export `index` inside a CallScope. On failure the instance is
  // poisoned; a clean proc_exit(0) succeeds (exited_cleanly()) with zeroed results.
  std::expected<void, WasmError> run(std::uint32_t index, std::span<const std::uint64_t> args,
                                     std::span<std::uint64_t> results);
  bool exited_cleanly() const noexcept { return stop_ == Stop::exit && exit_code_ == 0; }

  // Why a call of `what` cannot run here: the instance is bound to another thread, or it is
  // unhealthy ("x.wasm: f: instance was stopped earlier; create a new one").
  std::optional<WasmError> refuse_if_unusable(std::string_view what) const;
  // The checks of a call by handle: the handle's module, then health.
  std::optional<WasmError> check_callable(const Function& function) const;

  const Module::Impl& module() const noexcept { return linked_.module().impl(); }
  const Module& module_handle() const noexcept { return linked_.module(); }

  // Instance::ThreadBinding: binds to the calling thread (again, nested, when bound to it
  // already); refused when bound to another thread.
  std::expected<void, WasmError> bind_to_this_thread();
  // Ends one binding; on another thread than the bound one the process stops (misuse()).
  void unbind_from_this_thread();
  // Stops the process with a message: what V8 cannot survive (its lock taken or given back
  // on the wrong thread) when the instance is misused while bound.
  [[noreturn]] void misuse(std::string_view what) const;
  bool bound_elsewhere() const noexcept;
  // Stops the process (misuse()) when the instance is bound to another thread.
  void require_not_bound_elsewhere(std::string_view what) const;

  // Called by Caller and by the WASI definitions (CallerAccess).
  void stop_by_host(std::string message);
  void exit(std::int32_t code);
  void* host_data_of(const void* type) const noexcept {
    return data_.type == type ? data_.object.get() : nullptr;
  }

 private:
  // Declared before `backend`: destroyed after it, as its imports call them.
  std::vector<Instance> linked_instances_;  // per LinkedModule::Impl::linked_instances
  InstanceLinks links_;
  // Of a linked instance: the instance it serves, whose calls its calls run inside.
  InstanceCore* importer_ = nullptr;
  std::uint32_t open_calls_ = 0;  // CallScopes (and instantiations) under way

 public:
  std::unique_ptr<BackendInstance> backend;
  WasiContext wasi;

  class CallScope {
   public:
    explicit CallScope(InstanceCore& core);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

   private:
    InstanceCore& core_;
  };

 private:
  // Instantiates (start function), runs `_initialize`, takes the snapshot.
  std::expected<void, WasmError> build();
  std::expected<void, WasmError> instantiate_linked();
  // A linked instance's call inside its importer's: fuel and deadline are the importer's.
  bool runs_inside_importer() const noexcept {
    return importer_ != nullptr && importer_->open_calls_ > 0;
  }
  // The metering hook: the next slice of fuel into results[0], or false to stop the call.
  bool refill_fuel(std::span<std::uint64_t> results);
  std::expected<void, WasmError> create_host_data();
  // Keeps a copy of the post-instantiation host data, when its type is copyable.
  std::expected<void, WasmError> snapshot_host_data();
  // Back to the post-instantiation host data (a copy of it, or a new one).
  std::expected<void, WasmError> restore_host_data();
  // After guest code stopped: no timer callback runs any more, no interrupt is pending.
  void settle();
  // nullopt for a clean proc_exit(0).
  std::optional<WasmError> classify(std::string_view what, const std::string& trap);

  LinkedModule linked_;
  HostData data_;
  // data_ right after instantiation, when its type is copyable; what reset() restores.
  std::shared_ptr<void> initial_data_;
  FuelBudget budget_;
  Stop stop_ = Stop::none;
  std::int32_t exit_code_ = 0;
  std::string stop_message_;
  const LinkedModule::Impl::Import* current_import_ = nullptr;
  // The thread of the binding, or none; other threads read it to refuse their calls.
  std::atomic<std::thread::id> bound_thread_{};
  std::uint32_t bindings_ = 0;  // on bound_thread_
  // Last: destroyed first, so its callback never sees a dying backend.
  DeadlineTimer timer_;
};

// The engine's per-thread scope around one operation.
class Entered {
 public:
  explicit Entered(BackendInstance& backend) : backend_(backend) { backend_.enter(); }
  ~Entered() { backend_.leave(); }
  Entered(const Entered&) = delete;
  Entered& operator=(const Entered&) = delete;

 private:
  BackendInstance& backend_;
};

// What the WASI definitions need beyond the public Caller.
struct CallerAccess {
  static WasiContext& wasi(Caller& caller) noexcept { return caller.core_.wasi; }
  static void exit(Caller& caller, std::int32_t code) { caller.core_.exit(code); }
};

}  // namespace warmpool::wasm::internal
