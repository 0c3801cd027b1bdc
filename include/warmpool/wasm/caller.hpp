// warmpool/wasm/caller.hpp — what a host function sees of the call it serves.
//
// A host function (warmpool/wasm/linker.hpp) may take a `Caller&` as its first
// parameter. Through it, it reaches the calling instance's memory (checked
// reads and writes), the instance's host data, and can stop the call.
//
//   linker.define("env", "log", [](Caller& caller, std::int32_t ptr, std::int32_t len) {
//     auto text = caller.memory().read(ptr, len);
//     if (!text) return caller.stop(text.error().message());   // the call traps
//     caller.data<Session>()->log.append(text->begin(), text->end());
//   });
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "warmpool/wasm/memory.hpp"

namespace warmpool::wasm {

class Instance;

namespace internal {
class InstanceCore;
struct CallerAccess;

// One address per type: identifies a host data type without RTTI.
template <class T>
const void* type_id() noexcept {
  static constexpr char id = 0;
  return &id;
}

// Per-instance host data, type-erased. `copy` is set when the type is copyable.
struct HostData {
  std::shared_ptr<void> object;
  const void* type = nullptr;
  std::shared_ptr<void> (*copy)(const void* object) = nullptr;
};
}  // namespace internal

class Caller {
 public:
  Caller(const Caller&) = delete;
  Caller& operator=(const Caller&) = delete;

  // Memory 0 of the calling instance (empty when it has none). Valid until
  // this host function returns or the memory grows.
  MemoryView memory() const;

  // The calling instance's host data (Linker::host_data), or null when it
  // has none of type T.
  template <class T>
  T* data() const noexcept {
    return static_cast<T*>(data_of(internal::type_id<T>()));
  }

  // The calling instance's linked instance for import module `module`
  // (Linker::define_instance), or null: its memory and its exports, called
  // inside this call (instance->call_raw, instance->memory()).
  Instance* linked_instance(std::string_view module) const noexcept;

  // Ends the guest's call when this host function returns: the call fails
  // with ErrorKind::trap and this message, and the instance is poisoned.
  // Whatever the host function returns is then ignored.
  void stop(std::string message);

 private:
  friend class internal::InstanceCore;
  friend struct internal::CallerAccess;
  explicit Caller(internal::InstanceCore& core) noexcept : core_(core) {}
  void* data_of(const void* type) const noexcept;

  internal::InstanceCore& core_;
};

}  // namespace warmpool::wasm
