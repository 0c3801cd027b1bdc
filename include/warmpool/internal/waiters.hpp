// warmpool/internal/waiters.hpp — implementation detail of InstancePool: the
// FIFO queue of acquires that wait at capacity, and the one word the hit
// paths read to learn that somebody waits.
//
// Design: a waiter is a node on its own stack (a condition variable and a
// flag) linked into a doubly linked list under a mutex. Only the head claims:
// the others sleep until they become the head, so instances go to waiters in
// arrival order and a burst of releases does not wake the whole queue. While
// anybody waits, the hit key the inline acquire compares with is switched off
// (kNoEntryKey), so new arrivals go to the slow path and queue up behind the
// waiters instead of barging past them.
//
// The cost of never losing a wake-up sits on the waiter. A release publishes
// an Idle slot and then reads `gate` (waiters, and a bit for "no
// membarrier") with nothing but a compiler barrier between the two (after_idle,
// on every release); a waiter increments `gate` and then runs heavy_fence()
// (membarrier: a full barrier on every CPU that runs one of our threads)
// before it scans for an Idle slot. So either the release sees the waiter and
// signals, or the waiter's scan sees the slot (asymmetric_fence.hpp). Without
// membarrier the gate's constant bit sends every release through a full fence.
//
// Trade-off: a waiter pays a system call and an IPI per CPU when it arrives,
// and every hit pays one load of a line that changes only when waiters come
// and go; the FIFO order holds between waiters, while a hit that is already
// inside its inline path when a waiter arrives may still finish first.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

#include "warmpool/internal/asymmetric_fence.hpp"
#include "warmpool/internal/false_sharing.hpp"
#include "warmpool/internal/slot.hpp"
#include "warmpool/internal/thread_cache.hpp"

namespace warmpool::internal {

class WaitQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // `plain_hit_key`: what the inline hits compare entries with while nobody
  // waits. `asym`: membarrier is registered.
  WaitQueue(std::uint64_t plain_hit_key, bool asym) noexcept
      : plain_hit_key_(plain_hit_key),
        asym_(asym),
        gate_(asym ? 0 : kGateSymmetric),
        hit_key_(plain_hit_key) {}

  // What acquire() and lease() compare entries with: the plain hit key, or
  // kNoEntryKey while acquirers wait (so hits do not overtake the queue). Read
  // relaxed, as a fairness hint: a wake-up is never lost (see after_idle()).
  std::uint64_t hit_key() const noexcept { return hit_key_.load(std::memory_order_relaxed); }

  std::uint64_t waiting() const noexcept {
    return gate_.load(std::memory_order_seq_cst) / kGateWaiter;
  }

  // After an instance became Idle in `s`: wake the head waiter, if any.
  [[gnu::always_inline]] void after_idle(SlotBase& s) noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (gate_.load(std::memory_order_relaxed) != 0) [[unlikely]]
      after_idle_slow(s);
  }

  // Capacity or an instance may have become available some other way.
  void notify_if_any() noexcept {
    if (waiting() != 0) signal_head();
  }

  // Queues the caller and calls `attempt` (under the queue's mutex) whenever
  // the caller is at the head of the queue, until it returns a value, which
  // is returned; nullopt once `deadline` passes first.
  template <class Attempt>
  auto wait_in_line(Clock::time_point deadline, Attempt&& attempt) -> decltype(attempt()) {
    Waiter w;
    std::unique_lock lk(mu_);
    w.prev = tail_;
    (tail_ ? tail_->next : head_) = &w;
    tail_ = &w;
    gate_.fetch_add(kGateWaiter, std::memory_order_seq_cst);
    hit_key_.store(kNoEntryKey, std::memory_order_relaxed);  // hits queue up behind us
    lk.unlock();
    heavy_fence(asym_);  // pairs with the compiler barrier in after_idle()
    lk.lock();
    for (;;) {
      if (head_ == &w) {
        if (auto got = attempt()) {
          unlink(w);
          return got;
        }
      }
      if (Clock::now() >= deadline) {
        unlink(w);
        return std::nullopt;
      }
      w.cv.wait_until(lk, deadline, [&] { return w.signaled; });
      w.signaled = false;
    }
  }

 private:
  struct Waiter {
    std::condition_variable cv;
    bool signaled = false;
    Waiter* next = nullptr;
    Waiter* prev = nullptr;
  };

  // Somebody waits (or the pool runs without membarrier). The waiter will
  // claim `s`: given up by this thread first, it is an unowned slot the
  // waiter takes with a plain CAS, not another thread's home, which would
  // cost it the stealer's membarrier on the hand-off's critical path.
  [[gnu::noinline]] void after_idle_slow(SlotBase& s) noexcept {
    if (!asym_) full_fence();
    if (waiting() == 0) return;
    disown(s, tag_of(thread_owner_bits));
    signal_head();
  }

  void signal_head() noexcept {
    std::lock_guard lk(mu_);
    if (head_ != nullptr) {
      head_->signaled = true;
      head_->cv.notify_one();
    }
  }

  // Under mu_.
  void unlink(Waiter& w) noexcept {
    (w.prev ? w.prev->next : head_) = w.next;
    (w.next ? w.next->prev : tail_) = w.prev;
    gate_.fetch_sub(kGateWaiter, std::memory_order_seq_cst);
    if (head_ != nullptr) {  // the next in line re-evaluates
      head_->signaled = true;
      head_->cv.notify_one();
    } else {
      hit_key_.store(plain_hit_key_, std::memory_order_relaxed);
    }
  }

  // gate_: waiters * kGateWaiter, plus kGateSymmetric without membarrier.
  static constexpr std::uint64_t kGateSymmetric = 1;
  static constexpr std::uint64_t kGateWaiter = 2;

  const std::uint64_t plain_hit_key_;
  const bool asym_;
  // Written only when a waiter arrives or leaves, so the hit paths read a
  // line that stays clean.
  alignas(kNoFalseSharing) std::atomic<std::uint64_t> gate_;
  std::atomic<std::uint64_t> hit_key_;

  alignas(kNoFalseSharing) std::mutex mu_;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace warmpool::internal
