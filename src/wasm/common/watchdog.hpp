// wasm/common/watchdog.hpp — internal: wall-clock deadlines for guest calls.
//
// One thread per process sleeps until the nearest armed deadline and then
// raises that call's flag (and runs its optional callback). Engines poll the
// flag where they regain control (wabt: in `warmpool.out_of_fuel`) or use the
// callback to interrupt the guest (V8: `isolate->TerminateExecution()`).
//
//   internal::DeadlineTimer timer([isolate] { isolate->TerminateExecution(); });
//   timer.arm(std::chrono::milliseconds(50));
//   run_guest();
//   timer.disarm();              // after this, the callback is not running and won't run
//   if (timer.expired()) ...     // report ErrorKind::deadline
//
// A timer is reusable (arm/disarm per call) but must stay at one address
// while registered, so it is neither copyable nor movable: keep it inside a
// heap-allocated per-instance state.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace warmpool::wasm::internal {

class DeadlineTimer;

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog() = default;
  ~Watchdog();  // stops and joins the thread; no timer may still be armed
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // The process-wide watchdog; its thread starts with the first armed timer
  // and is never torn down (timers may be disarmed during static destruction).
  static Watchdog& global();

  // Expires every armed timer now, as if its deadline had passed: raises each
  // flag and runs each callback. For a host that must end the calls still
  // running (a server's drain deadline), not for one call's limit. Returns
  // how many timers it expired.
  std::size_t expire_all();

 private:
  friend class DeadlineTimer;
  using Queue = std::multimap<Clock::time_point, DeadlineTimer*>;

  void arm(DeadlineTimer& timer, Clock::time_point deadline);
  void disarm(DeadlineTimer& timer);
  void run();
  // Under `mutex_`: takes `position` off the queue and expires its timer.
  void expire(Queue::iterator position);

  std::mutex mutex_;
  std::condition_variable wake_;
  Queue queue_;
  // When the thread wakes next by itself (max: only when notified).
  Clock::time_point wakes_at_ = Clock::time_point::max();
  bool stopping_ = false;
  std::thread thread_;
};

class DeadlineTimer {
 public:
  // `on_expire` runs on the watchdog thread while the watchdog's lock is held:
  // it must be quick and must not touch any DeadlineTimer.
  explicit DeadlineTimer(std::function<void()> on_expire = {},
                         Watchdog& watchdog = Watchdog::global());
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Clears expired() and schedules expiry `timeout` from now (re-arming
  // replaces the previous deadline).
  void arm(std::chrono::nanoseconds timeout);
  // Cancels a pending expiry. When it returns, `on_expire` is not running and
  // will not run for this arming. Without an arm() since the last disarm() it
  // returns at once, without the watchdog's process-wide lock: calls that set
  // no deadline never touch that lock, so calls on different threads do not
  // contend for it.
  void disarm();
  // True once the armed deadline passed (until the next arm()).
  bool expired() const noexcept { return expired_.load(std::memory_order_acquire); }

 private:
  friend class Watchdog;

  Watchdog& watchdog_;
  std::function<void()> on_expire_;
  std::atomic<bool> expired_{false};
  bool armed_ = false;   // arm() since the last disarm(); only the arming thread's
  bool queued_ = false;  // guarded by the watchdog's mutex
  Watchdog::Queue::iterator position_;
};

}  // namespace warmpool::wasm::internal
