// warmpool/internal/slot.hpp — implementation detail of InstancePool: one
// cache-line-aligned cell of the pool's slot array and its state machine.
//
//   Empty  --claim (CAS)-->  Busy  --fill-->  Idle            (build, release)
//   Idle   --hit (CAS)-->    Lent    (acquire moved T out; only the acquiring
//                                     thread may touch the slot again)
//   Lent   --release (plain store)--> Idle / Empty
//   Idle   --checkout (CAS)--> Leased (T stays in place for a PooledInstance)
//   Leased --return (CAS)-->  Idle / Busy -> Empty
//   Leased --pool destroyed (CAS)--> Orphaned (the handle cleans up)
//   Idle   --reaper/shutdown (CAS)--> Busy -> Empty
//
// "Lent" is what makes release cheap: nobody but the owner moves a slot out of
// it, so the owner puts its instance back with a plain store.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace warmpool::internal {

enum SlotState : std::uint32_t { kEmpty, kIdle, kLent, kLeased, kBusy, kOrphaned };

struct alignas(64) SlotBase {
  std::atomic<std::uint32_t> state{kEmpty};
  // Completed uses; touched only by the slot's current exclusive owner.
  std::uint32_t uses = 0;
  // Coarse ticks (ms since the pool started); read by the reaper on Idle slots.
  std::atomic<std::uint64_t> born{0};
  std::atomic<std::uint64_t> idle_since{0};
};

template <class T>
struct Slot : SlotBase {
  alignas(T) unsigned char storage[sizeof(T)];

  T* get() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  template <class... A>
  void emplace(A&&... a) {
    std::construct_at(reinterpret_cast<T*>(storage), std::forward<A>(a)...);
  }
  void destroy() noexcept { std::destroy_at(get()); }
};

}  // namespace warmpool::internal
