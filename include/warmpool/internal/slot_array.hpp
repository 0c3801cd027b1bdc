// warmpool/internal/slot_array.hpp — implementation detail of InstancePool:
// where a pool keeps its instances, and how a thread finds one to take or a
// place to put one.
//
// Design: the slots (slot.hpp) sit in chunks that never move, so a pointer to
// a slot stays valid for the pool's life (thread caches, handles and the
// refill hint hold them). The first chunk has max(max_instances, 16) slots;
// more are added, under a mutex and only when every slot is taken, because a
// thread that hands its instance to another thread keeps its Lent slot (its
// release goes elsewhere), so Lent slots can outnumber instances. A scan that
// looks for an Idle slot starts at an offset of the calling thread's own, so
// threads that miss their home spread over the array instead of all fighting
// over slot 0, and takes unowned slots (a plain CAS) before other threads'
// homes (the stealer's handshake: a membarrier, microseconds). A scan for an
// Empty slot can prefer homes, so a refill lands where a thread looks first.
//
// Trade-off: every scan is linear over all slots, which is fine because it is
// the slow path (the hit path never scans: it takes its home slot) and pools
// are small (max_instances in the tens); chunks are never freed before the
// pool, so memory grows to the high-water mark of slots in use and stays.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "warmpool/internal/asymmetric_fence.hpp"
#include "warmpool/internal/slot.hpp"
#include "warmpool/internal/thread_cache.hpp"

namespace warmpool::internal {

// The tag a registered thread writes into a slot it makes its home.
inline std::uint64_t home_tag(const ThreadEntry& e) noexcept {
  return e.registered() ? e.tag : 0;
}

// The tag a claim by `e` writes: its own if the slot becomes its home (a Lent
// claim always does; a Leased one unless the thread holds its home Lent).
inline std::uint64_t claim_tag(const ThreadEntry& e, SlotState to) noexcept {
  if (!e.registered()) return 0;
  return to == kLent || !e.lent() ? e.tag : 0;
}

// `e` put its tag into `s`'s word: stealers must watch e's busy flag. Done
// before e can open a window on `s` (slot.hpp explains why that suffices).
inline void own(SlotBase* s, const ThreadEntry& e, std::uint64_t tag) noexcept {
  if (tag != 0) s->owner_busy.store(&e.shard->busy, std::memory_order_seq_cst);
}

template <class T>
class SlotArray {
 public:
  // `asym`: the pool uses membarrier for the stealer's handshake.
  SlotArray(std::size_t max_instances, bool asym)
      : chunk_size_(std::max<std::size_t>(max_instances, 16)), asym_(asym) {
    chunks_[0] = std::make_unique<Slot<T>[]>(chunk_size_);
    chunk_count_.store(1, std::memory_order_release);
  }

  Slot<T>& first(std::size_t i) const noexcept { return chunks_[0][i]; }

  template <class F>
  void for_each(F&& f) {
    const std::size_t n = chunk_count_.load(std::memory_order_acquire);
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t i = 0; i < chunk_size_; ++i) f(chunks_[c][i]);
    }
  }

  // CAS on a slot's state word by a thread whose tag is `mine`; through the
  // stealer's handshake when another thread owns the slot and could be
  // writing it inside an owner window (states Idle and Leased).
  bool cas(SlotBase& s, StateWord& expected, StateWord desired, std::uint64_t mine) noexcept {
    const std::uint64_t owner = tag_of(expected);
    const SlotState st = state_of(expected);
    if (owner != 0 && owner != mine && (st == kIdle || st == kLeased)) {
      return s.steal_cas(expected, desired, [this] { heavy_fence(asym_); });
    }
    return s.state.compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                           std::memory_order_acquire);
  }

  // Finds an Idle slot and moves it to `to` (Lent or Leased), with the owner
  // tag a claim by `e` writes. Unowned (or own) slots first.
  Slot<T>* claim_idle(SlotState to, const ThreadEntry& e) noexcept {
    const std::size_t n = chunk_count_.load(std::memory_order_acquire);
    const std::size_t start = thread_ordinal % chunk_size_;
    const std::uint64_t mine = home_tag(e);
    const std::uint64_t tag = claim_tag(e, to);
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t c = 0; c < n; ++c) {
        Slot<T>* base = chunks_[c].get();
        for (std::size_t k = 0; k < chunk_size_; ++k) {
          Slot<T>& s = base[(start + k) % chunk_size_];
          StateWord st = s.state.load(std::memory_order_seq_cst);
          if (state_of(st) != kIdle) continue;
          const bool foreign = tag_of(st) != 0 && tag_of(st) != mine;
          if (foreign != (pass == 1)) continue;
          if (cas(s, st, make_state(tag, to), mine)) {
            own(&s, e, tag);
            return &s;
          }
        }
      }
    }
    return nullptr;
  }

  // Finds an Empty slot and moves it to Busy (keeping its owner tag, so a
  // refilled home slot is a hit for its owner), growing the array if needed;
  // nullptr only when it cannot grow. The owner never writes an Empty slot,
  // so a CAS suffices. `homes_first`: prefer Empty slots that are some
  // thread's home (under Fresh, the slot its last instance was destroyed in),
  // so that the refill lands where that thread looks first: its next acquire
  // is a home hit, not a scan of lines the refill thread has just written.
  Slot<T>* claim_empty(bool homes_first = false) noexcept {
    for (;;) {
      const std::size_t n = chunk_count_.load(std::memory_order_acquire);
      for (int pass = homes_first ? 0 : 1; pass < 2; ++pass) {
        for (std::size_t c = 0; c < n; ++c) {
          Slot<T>* base = chunks_[c].get();
          for (std::size_t i = 0; i < chunk_size_; ++i) {
            StateWord st = base[i].state.load(std::memory_order_relaxed);
            if (state_of(st) != kEmpty || (pass == 0 && tag_of(st) == 0)) continue;
            if (base[i].state.compare_exchange_strong(st, make_state(tag_of(st), kBusy),
                                                      std::memory_order_acquire)) {
              return &base[i];
            }
          }
        }
      }
      std::lock_guard lk(grow_mu_);
      if (chunk_count_.load(std::memory_order_relaxed) != n) continue;
      if (n == kMaxChunks) return nullptr;
      try {
        chunks_[n] = std::make_unique<Slot<T>[]>(chunk_size_);
      } catch (...) {
        return nullptr;
      }
      chunk_count_.store(n + 1, std::memory_order_release);
    }
  }

  // `s` Empty -> Busy if it is still Empty; false otherwise.
  static bool claim_if_empty(Slot<T>& s) noexcept {
    StateWord st = s.state.load(std::memory_order_relaxed);
    if (state_of(st) != kEmpty) return false;
    return s.state.compare_exchange_strong(st, make_state(tag_of(st), kBusy),
                                           std::memory_order_acquire);
  }

  // An unowned Idle slot, now carrying `tag` (still Idle); nullptr if none.
  // Unowned: a plain CAS, no stealer's handshake.
  Slot<T>* tag_unowned_idle(std::uint64_t tag) noexcept {
    const std::size_t n = chunk_count_.load(std::memory_order_acquire);
    for (std::size_t c = 0; c < n; ++c) {
      Slot<T>* base = chunks_[c].get();
      for (std::size_t i = 0; i < chunk_size_; ++i) {
        StateWord st = make_state(0, kIdle);
        if (base[i].state.load(std::memory_order_relaxed) != st) continue;
        if (base[i].state.compare_exchange_strong(
                st, make_state(tag, kIdle), std::memory_order_acq_rel, std::memory_order_relaxed)) {
          return &base[i];
        }
      }
    }
    return nullptr;
  }

 private:
  static constexpr std::size_t kMaxChunks = 64;

  const std::size_t chunk_size_;
  const bool asym_;
  std::array<std::unique_ptr<Slot<T>[]>, kMaxChunks> chunks_;
  std::atomic<std::size_t> chunk_count_{0};
  std::mutex grow_mu_;
};

}  // namespace warmpool::internal
