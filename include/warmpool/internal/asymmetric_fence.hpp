// warmpool/internal/asymmetric_fence.hpp — implementation detail: a Dekker-style
// store/load handshake whose cost sits entirely on the rare side.
//
// A releaser publishes an idle instance and then checks for waiters; a waiter
// registers and then scans for idle instances. Without a full fence on both
// sides either may miss the other (a lost wake-up). The release path runs on
// every call, waiting is rare, so the waiter pays: heavy_fence() is the Linux
// membarrier(PRIVATE_EXPEDITED) system call, which runs a full barrier on every
// CPU currently running one of our threads, and the light side is then only a
// compiler barrier (std::atomic_signal_fence). Where membarrier is not available both sides fall
// back to a seq_cst fence. ThreadSanitizer does not understand membarrier, so under TSan the
// fallback is always used and TSan sees ordinary synchronisation. Each pool reads the answer of
// enable_asymmetric_fence() once into a const member, so the hot path tests a flag on a line it
// already holds.
#pragma once

#include <atomic>
#include <exception>

#if defined(__SANITIZE_THREAD__)
#define WARMPOOL_INTERNAL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WARMPOOL_INTERNAL_TSAN 1
#endif
#endif

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
#if defined(WARMPOOL_INTERNAL_TSAN)
  static std::atomic<int> dummy{0};
  dummy.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Called once per pool before the pool is shared with other threads; true if
// the pool may use the asymmetric form (light = compiler barrier only).
inline bool enable_asymmetric_fence() noexcept {
#if defined(__linux__) && defined(__NR_membarrier) && !defined(WARMPOOL_INTERNAL_TSAN)
  if (membarrier_ready.load(std::memory_order_acquire)) return true;
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
    membarrier_ready.store(true, std::memory_order_release);
    return true;
  }
#endif
  return false;
}

inline void heavy_fence(bool asym) noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
  // Registered once, so the command cannot fail later; if it ever did, the
  // light side would be unprotected, so stop rather than run unsafely.
  if (asym) {
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) std::terminate();
    return;
  }
#endif
  full_fence();
}

}  // namespace warmpool::internal
