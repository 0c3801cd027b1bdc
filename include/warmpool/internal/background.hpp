// warmpool/internal/background.hpp — implementation detail of InstancePool:
// the refill and reaper threads, and when they run.
//
// Design: what to build and what to reap is the pool's business (pool_core);
// this part decides when. A refill thread sleeps until notified, and is
// notified only when a parked thread exists and there is work (a destruction
// that leaves enough instances wakes nobody). After a build it lingers for
// kRefillLinger, looking for more work every kRefillPoll in timed sleeps
// (never spinning), and only then parks. So an idle pool costs no CPU, and
// under steady demand (a Fresh hit per request) the threads never park and
// the acquiring thread never pays a futex wake-up: it reads one line that
// refill threads write only when they park or wake. The wake-up is lost
// nowhere: every change that creates work is made first and then checked
// against `parked` behind a compiler barrier (wake()), and a thread that
// parks announces itself, runs heavy_fence() (membarrier), and only then
// re-checks for work, the asymmetric Dekker handshake of waiters.hpp. Under
// Fresh, the release that destroys an instance nudges a lingering thread,
// which starts the replacement at once instead of at its next poll; a failing
// build backs off from 1 ms to 1 s. The reaper wakes at a quarter of the
// shorter of idle_timeout and max_lifetime (1 ms to 1 s), publishes a coarse
// millisecond tick that the release paths read instead of a clock, and
// reaps.
//
// Trade-off: a lingering thread costs a timed wake-up every 100 µs for 2 ms
// after its last build, and a Fresh hit after a quiet spell pays one futex
// call to wake a parked thread; idle and lifetime limits are only as precise
// as the reaper's period.
//
// The Pool supplies the work (all called from the threads started here):
//   bool refill_wanted()                 there is work for a parked thread
//   bool refill_needed(size_t building)  under the lock: start a build now
//   bool reserve_refill()                capacity for one build; false: none
//   bool build_spare()                   build into the idle set; false: failed
//   void refill_failed()                 a build failed (its capacity is back)
//   void reap(uint64_t now_ms)
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "warmpool/internal/asymmetric_fence.hpp"
#include "warmpool/internal/false_sharing.hpp"

namespace warmpool::internal {

template <class Pool>
class Background {
 public:
  using Clock = std::chrono::steady_clock;

  Background(Pool& pool, bool asym) noexcept : pool_(pool), asym_(asym), epoch_(Clock::now()) {}

  // `reap_every`: the reaper's period; 0 starts no reaper.
  void start(std::size_t refill_threads, std::chrono::milliseconds reap_every) {
    for (std::size_t i = 0; i < refill_threads; ++i)
      threads_.emplace_back([this] { refill_loop(); });
    if (reap_every.count() > 0)
      threads_.emplace_back([this, reap_every] { reaper_loop(reap_every); });
  }

  // Stops and joins every thread (a build in progress finishes first).
  void stop() noexcept {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    refill_cv_.notify_all();
    reaper_cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // Milliseconds since the pool started, as of the reaper's last period.
  std::uint64_t tick() const noexcept { return tick_.load(std::memory_order_relaxed); }

  // Work was created (called after making the change): wakes a parked refill
  // thread if the pool wants one. Costs a compiler barrier and a load of a
  // line that stays clean while no thread parks or wakes.
  void wake() noexcept {
    if (asym_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      full_fence();
    }
    if (parked_.load(std::memory_order_relaxed) == 0) [[likely]]
      return;
    wake_parked();
  }

  // Fresh: an instance was destroyed, so a spare is due. A lingering refill
  // thread starts it now instead of at its next poll (up to kRefillPoll plus
  // timer slack later), so it is ready before the next request, in the
  // requester's home slot. Only while a thread lingers: a busy one finds the
  // work when it finishes, a parked one is wake()'s. The nudge is a flag the
  // wait's predicate reads, so one that comes between two waits is seen at
  // the next.
  void nudge_lingering() noexcept {
    if (lingering_.load(std::memory_order_relaxed) == 0) return;
    nudged_.store(true, std::memory_order_relaxed);
    refill_cv_.notify_all();
  }

 private:
  static constexpr std::chrono::microseconds kRefillLinger{2000};
  static constexpr std::chrono::microseconds kRefillPoll{100};

  [[gnu::noinline]] void wake_parked() noexcept {
    if (!pool_.refill_wanted()) return;
    {
      std::lock_guard lk(mu_);
      signal_ = true;
    }
    refill_cv_.notify_all();
  }

  // Linger, then park (see the top of the file). True when a build is
  // needed; false when stopping or woken without work.
  bool wait_for_work(std::unique_lock<std::mutex>& lk) {
    lingering_.fetch_add(1, std::memory_order_relaxed);
    for (auto waited = std::chrono::microseconds{0};; waited += kRefillPoll) {
      if (stopping_ || pool_.refill_needed(building_)) {
        lingering_.fetch_sub(1, std::memory_order_relaxed);
        return !stopping_;
      }
      if (waited >= kRefillLinger) break;
      refill_cv_.wait_for(lk, kRefillPoll, [&] {
        return stopping_ || nudged_.exchange(false, std::memory_order_relaxed);
      });
    }
    lingering_.fetch_sub(1, std::memory_order_relaxed);
    parked_.fetch_add(1, std::memory_order_seq_cst);
    heavy_fence(asym_);                                // pairs with the barrier in wake()
    const bool need = pool_.refill_needed(building_);  // after announcing: no wake-up is lost
    if (!need) refill_cv_.wait(lk, [&] { return stopping_ || signal_; });
    parked_.fetch_sub(1, std::memory_order_seq_cst);
    signal_ = false;
    return need && !stopping_;
  }

  void refill_loop() {
    std::unique_lock lk(mu_);
    auto backoff = std::chrono::milliseconds{0};
    while (!stopping_) {
      if (!wait_for_work(lk) || !pool_.reserve_refill()) continue;
      ++building_;
      lk.unlock();
      const bool ok = pool_.build_spare();
      lk.lock();
      --building_;
      if (ok) {
        backoff = std::chrono::milliseconds{0};
        continue;
      }
      pool_.refill_failed();
      backoff =
          std::clamp(backoff * 2, std::chrono::milliseconds{1}, std::chrono::milliseconds{1000});
      refill_cv_.wait_for(lk, backoff, [&] { return stopping_; });
    }
  }

  void reaper_loop(std::chrono::milliseconds period) {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      reaper_cv_.wait_for(lk, period, [&] { return stopping_; });
      if (stopping_) break;
      lk.unlock();
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - epoch_);
      tick_.store(static_cast<std::uint64_t>(now.count()), std::memory_order_relaxed);
      pool_.reap(static_cast<std::uint64_t>(now.count()));
      lk.lock();
    }
  }

  Pool& pool_;
  const bool asym_;
  const Clock::time_point epoch_;
  // Written by the reaper once per period; read when stamping on release.
  alignas(kNoFalseSharing) std::atomic<std::uint64_t> tick_{0};

  alignas(kNoFalseSharing) std::mutex mu_;
  std::condition_variable refill_cv_;
  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  bool signal_ = false;       // a parked thread was notified of work
  std::size_t building_ = 0;  // builds refill threads have in flight
  // Refill threads parked (not lingering). Read by every wake(), so alone on
  // its line: mu_ is taken by lingering threads each poll.
  alignas(kNoFalseSharing) std::atomic<std::uint32_t> parked_{0};
  // Refill threads lingering, and a release's request that one start now.
  // Written only by refill threads and Fresh releases, so off the Fresh
  // hit's lines.
  alignas(kNoFalseSharing) std::atomic<std::uint32_t> lingering_{0};
  std::atomic<bool> nudged_{false};
  std::vector<std::thread> threads_;
};

}  // namespace warmpool::internal
