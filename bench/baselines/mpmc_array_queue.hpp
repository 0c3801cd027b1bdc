// bench/baselines/mpmc_array_queue.hpp — a bounded lock-free multi-producer
// multi-consumer array queue, the idle set of the seed design (baseline only).
//
// The seed (Rust uni-plugin-wasm-rt 2.0) keeps idle instances in crossbeam's
// `ArrayQueue`. This is the same algorithm family written for the benchmark:
// Dmitry Vyukov's bounded queue where every slot carries a stamp saying which
// lap may use it next, with the head and tail indices on their own cache
// lines and a sequentially consistent CAS to claim a slot, as crossbeam does.
// It is here so the seed's hit cost can be measured in C++ against warmpool;
// nothing in the library uses it.
//
//   baselines::MpmcArrayQueue<std::unique_ptr<Foo>> q(8);
//   q.push(std::make_unique<Foo>());   // false when full (value left intact)
//   std::optional<std::unique_ptr<Foo>> v = q.pop();   // nullopt when empty
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace baselines {

namespace internal {

// Exponential spin on a lost race, as crossbeam's Backoff::spin does.
class SpinBackoff {
 public:
  void spin() {
    for (unsigned i = 0; i < (1u << step_); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    }
    if (step_ < kMaxStep) ++step_;
  }

 private:
  static constexpr unsigned kMaxStep = 6;
  unsigned step_ = 0;
};

}  // namespace internal

template <class T>
class MpmcArrayQueue {
 public:
  explicit MpmcArrayQueue(std::size_t capacity)
      : capacity_(capacity == 0 ? 1 : capacity),
        one_lap_(std::bit_ceil(capacity_ + 1)),
        slots_(std::make_unique<Slot[]>(capacity_)) {
    // Slot i is first writable by the push whose tail stamp is i (lap 0).
    for (std::size_t i = 0; i < capacity_; ++i) slots_[i].stamp.store(i, std::memory_order_relaxed);
  }

  MpmcArrayQueue(const MpmcArrayQueue&) = delete;
  MpmcArrayQueue& operator=(const MpmcArrayQueue&) = delete;

  ~MpmcArrayQueue() {
    while (pop()) {
    }
  }

  // Moves `value` in and returns true, or returns false (value untouched) when full.
  bool push(T& value) {
    internal::SpinBackoff backoff;
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t index = tail & (one_lap_ - 1);
      Slot& slot = slots_[index];
      const std::size_t stamp = slot.stamp.load(std::memory_order_acquire);
      if (stamp == tail) {
        if (tail_.compare_exchange_weak(tail, advance(tail), std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          ::new (slot.storage) T(std::move(value));
          slot.stamp.store(tail + 1, std::memory_order_release);
          return true;
        }
        backoff.spin();
      } else if (stamp + one_lap_ == tail + 1) {
        // The slot still holds last lap's value: full unless a pop is mid-way.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (head_.load(std::memory_order_relaxed) + one_lap_ == tail) return false;
        tail = tail_.load(std::memory_order_relaxed);
      } else {
        backoff.spin();
        tail = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  std::optional<T> pop() {
    internal::SpinBackoff backoff;
    std::size_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t index = head & (one_lap_ - 1);
      Slot& slot = slots_[index];
      const std::size_t stamp = slot.stamp.load(std::memory_order_acquire);
      if (stamp == head + 1) {
        if (head_.compare_exchange_weak(head, advance(head), std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          T* stored = std::launder(reinterpret_cast<T*>(slot.storage));
          std::optional<T> out(std::move(*stored));
          stored->~T();
          slot.stamp.store(head + one_lap_, std::memory_order_release);
          return out;
        }
        backoff.spin();
      } else if (stamp == head) {
        // The slot has not been written this lap: empty unless a push is mid-way.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (tail_.load(std::memory_order_relaxed) == head) return std::nullopt;
        head = head_.load(std::memory_order_relaxed);
      } else {
        backoff.spin();
        head = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Approximate under concurrency (as crossbeam's len()).
  std::size_t size() const {
    for (;;) {
      const std::size_t tail = tail_.load(std::memory_order_seq_cst);
      const std::size_t head = head_.load(std::memory_order_seq_cst);
      if (tail_.load(std::memory_order_seq_cst) != tail) continue;
      const std::size_t h = head & (one_lap_ - 1), t = tail & (one_lap_ - 1);
      if (h < t) return t - h;
      if (h > t) return capacity_ - h + t;
      return tail == head ? 0 : capacity_;
    }
  }

  std::size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    std::atomic<std::size_t> stamp{0};
    alignas(T) unsigned char storage[sizeof(T)];
  };

  // Next stamp after `stamp`: the next index, or index 0 of the next lap.
  std::size_t advance(std::size_t stamp) const {
    const std::size_t index = stamp & (one_lap_ - 1);
    const std::size_t lap = stamp & ~(one_lap_ - 1);
    return index + 1 < capacity_ ? stamp + 1 : lap + one_lap_;
  }

  // crossbeam pads head and tail to 128 bytes on x86-64 (adjacent-line prefetch).
  alignas(128) std::atomic<std::size_t> head_{0};
  alignas(128) std::atomic<std::size_t> tail_{0};
  alignas(128) const std::size_t capacity_;
  const std::size_t one_lap_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace baselines
