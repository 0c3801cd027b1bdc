// warmpool/internal/slot.hpp — implementation detail of InstancePool: one
// cell of the pool's slot array (256 bytes from its neighbours), its state
// machine, and the owner-biased handshake that lets a slot's owner thread
// change it without a locked instruction.
//
// The state word packs a state and an owner tag (tag << 8 | state; tag 0 =
// unowned, otherwise a thread's unique, never-reused number):
//
//   Empty  --claim (CAS)-->  Busy  --fill-->  Idle            (build, release)
//   Idle   --hit-->          Lent    (acquire moved T out; only the acquiring
//                                     thread may touch the slot again)
//   Lent   --release (plain store)--> Idle / Empty
//   Idle   --checkout-->     Leased (T stays in place for a PooledInstance)
//   Leased --return-->       Idle / Busy -> Empty
//   Leased --pool destroyed (CAS)--> Orphaned (the handle cleans up)
//   Idle   --reaper/shutdown (CAS)--> Busy -> Empty
//
// Owner bias (a Dekker-style asymmetric handshake): the thread whose tag is in
// the word (the slot's owner; its thread-local "home" slot) moves it out of
// Idle, and a Leased slot it holds back to Idle, with plain loads and stores
// inside an "owner window": store busy = 1, compiler barrier, check steal ==
// 0, then read and write state, then release-store busy = 0. `busy` is the
// owner THREAD's flag (in its metric shard), not the slot's: a thread whose
// stale home still points at a slot it lost must not be able to clear the
// real owner's flag; the slot points at its owner's flag (`owner_busy`,
// written by the thread that puts its tag in the word, before it can open a
// window on the slot). Anybody else who wants to move an owned slot out of
// Idle or Leased (another thread's scan, a waiter, the reaper, shutdown) is a
// stealer: it increments `steal`, runs heavy_fence() (membarrier: a full
// barrier on every CPU running one of our threads), then reads owner_busy and
// waits for that flag to be 0, and only then CASes. Why no
// owner store can race the stealer's CAS: the membarrier splits the owner's
// execution at a point P. Stores of the owner before P are visible to the
// stealer afterwards; loads of the owner after P see the stealer's `steal`.
// If the owner's steal check came after P it saw steal != 0 and wrote nothing
// (and so does every later window until the stealer is done). If it came
// before P, the owner_busy = 1 that precedes it is visible, so the stealer
// waits for busy = 0, whose release store orders the owner's state write
// before the stealer's CAS; every later window starts after P. (The same
// split covers the owner_busy pointer: if the owner wrote it after P, its
// next window reads steal after P and writes nothing.) Transitions out
// of other states need no handshake: Lent belongs to its borrower alone, the
// owner never writes Empty/Busy/Orphaned slots it does not hold, and other
// writers use CAS. Without membarrier (or under ThreadSanitizer, which does not
// model it) both sides use seq_cst operations instead, the textbook Dekker.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <utility>

#include "warmpool/internal/false_sharing.hpp"

namespace warmpool::internal {

using StateWord = std::uint64_t;
enum SlotState : std::uint64_t { kEmpty, kIdle, kLent, kLeased, kBusy, kOrphaned };

inline constexpr StateWord make_state(std::uint64_t tag, SlotState s) noexcept {
  return tag << 8 | s;
}
inline constexpr SlotState state_of(StateWord w) noexcept {
  return SlotState(w & 0xff);
}
inline constexpr std::uint64_t tag_of(StateWord w) noexcept {
  return w >> 8;
}

// A slot is written by whoever moves it, often not its owner: kept apart from
// its neighbours (false_sharing.hpp).
struct alignas(kSlotSpacing) SlotBase {
  std::atomic<StateWord> state{kEmpty};
  // The owner thread's busy flag (1 while it is inside a window).
  std::atomic<std::atomic<std::uint32_t>*> owner_busy{nullptr};
  // Stealer side: the number of stealers currently working on this slot.
  std::atomic<std::uint32_t> steal{0};
  // Completed uses; touched only by the slot's current exclusive holder.
  std::uint64_t uses = 0;
  // Coarse ticks (ms since the pool started); read by the reaper on Idle slots.
  // The reaper also sets kPastLifetime in `born` of an instance in use that
  // outlived max_lifetime, so its release needs no clock: one load of a line
  // it writes anyway.
  std::atomic<std::uint64_t> born{0};
  std::atomic<std::uint64_t> idle_since{0};
  static constexpr std::uint64_t kPastLifetime = std::uint64_t{1} << 63;

  bool past_lifetime() const noexcept {
    return (born.load(std::memory_order_relaxed) & kPastLifetime) != 0;
  }

  // The owner's window: runs `f` (which may read and plainly write `state`)
  // unless a stealer is at work; false if it did not run or `f` said no.
  // `asym`: the stealers use membarrier (see above).
  // `busy`: the calling thread's own flag.
  template <class F>
  [[gnu::always_inline]] bool owner_window(bool asym, std::atomic<std::uint32_t>& busy,
                                           F&& f) noexcept {
    bool ok = false;
    if (asym) [[likely]] {
      busy.store(1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      if (steal.load(std::memory_order_relaxed) == 0) [[likely]]
        ok = f();
    } else {
      busy.store(1, std::memory_order_seq_cst);
      if (steal.load(std::memory_order_seq_cst) == 0) [[likely]]
        ok = f();
    }
    busy.store(0, std::memory_order_release);
    return ok;
  }

  // The stealer's CAS on an owned slot. `heavy` is heavy_fence() when the
  // owner side relies on it, or nothing (the seq_cst RMW and load suffice).
  template <class Heavy>
  bool steal_cas(StateWord& expected, StateWord desired, Heavy&& heavy) noexcept {
    steal.fetch_add(1, std::memory_order_seq_cst);
    heavy();
    if (std::atomic<std::uint32_t>* busy = owner_busy.load(std::memory_order_seq_cst)) {
      while (busy->load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    }
    const bool ok = state.compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                                  std::memory_order_acquire);
    steal.fetch_sub(1, std::memory_order_release);
    return ok;
  }
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

// Drops `tag`'s ownership of `s` (the thread moved its home elsewhere or
// exits), so stealers no longer pay the handshake for it.
inline void disown(SlotBase& s, std::uint64_t tag) noexcept {
  StateWord v = s.state.load(std::memory_order_relaxed);
  while (tag != 0 && tag_of(v) == tag) {
    if (s.state.compare_exchange_weak(v, make_state(0, state_of(v)), std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      return;
    }
  }
}

}  // namespace warmpool::internal
