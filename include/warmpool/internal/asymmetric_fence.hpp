// warmpool/internal/asymmetric_fence.hpp — implementation detail: a Dekker-style
// store/load handshake whose cost sits entirely on the rare side.
//
// A releaser publishes an idle instance and then checks for waiters; a waiter
// registers and then scans for idle instances. Without a full fence on both
// sides either may miss the other (a lost wake-up). The release path runs on
// every call, waiting is rare, so the waiter pays: `heavy()` is the Linux
// membarrier(PRIVATE_EXPEDITED) system call, which runs a full barrier on every
// CPU currently running one of our threads, and `light()` is then only a
// compiler barrier. Where membarrier is not available both sides fall back to
// a seq_cst fence.
#pragma once

#include <atomic>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace warmpool::internal {

inline std::atomic<bool> membarrier_ready{false};

// A full fence. ThreadSanitizer does not model std::atomic_thread_fence (GCC
// rejects it under -fsanitize=thread), so there a seq_cst read-modify-write
// stands in: a full barrier on every target we build for.
inline void full_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
  static std::atomic<int> dummy{0};
  dummy.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Called once per pool before the pool is shared with other threads, so every
// thread that later uses the pool sees the final value.
inline void enable_asymmetric_fence() noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
  if (membarrier_ready.load(std::memory_order_acquire)) return;
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
    membarrier_ready.store(true, std::memory_order_release);
  }
#endif
}

inline void light_fence() noexcept {
  if (membarrier_ready.load(std::memory_order_relaxed)) [[likely]] {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    full_fence();
  }
}

inline void heavy_fence() noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
  if (membarrier_ready.load(std::memory_order_relaxed) &&
      syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
    return;
  }
#endif
  full_fence();
}

}  // namespace warmpool::internal
