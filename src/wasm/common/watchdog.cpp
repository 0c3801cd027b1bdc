#include "wasm/common/watchdog.hpp"

#include <utility>

namespace warmpool::wasm::internal {

Watchdog& Watchdog::global() {
  static Watchdog* const instance = new Watchdog;
  return *instance;
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::arm(DeadlineTimer& timer, Clock::time_point deadline) {
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    if (timer.queued_) queue_.erase(timer.position_);
    timer.expired_.store(false, std::memory_order_release);
    timer.position_ = queue_.emplace(deadline, &timer);
    timer.queued_ = true;
    // The thread only needs waking when it would sleep past this deadline:
    // a call's timer armed after the previous call's was disarmed is later
    // than the deadline the thread already sleeps until.
    earliest = deadline < wakes_at_;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  if (earliest) wake_.notify_one();
}

void Watchdog::disarm(DeadlineTimer& timer) {
  std::lock_guard lock(mutex_);
  if (timer.queued_) {
    queue_.erase(timer.position_);
    timer.queued_ = false;
  }
}

void Watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      wakes_at_ = Clock::time_point::max();
      wake_.wait(lock);
      continue;
    }
    const auto next = queue_.begin();
    if (next->first > Clock::now()) {
      // A copy: disarm() may erase the node while the wait has the lock released.
      const Clock::time_point when = next->first;
      wakes_at_ = when;
      wake_.wait_until(lock, when);
      continue;
    }
    expire(next);
  }
}

void Watchdog::expire(Queue::iterator position) {
  DeadlineTimer* timer = position->second;
  queue_.erase(position);
  timer->queued_ = false;
  timer->expired_.store(true, std::memory_order_release);
  // Under the lock, so disarm() can promise the callback is over.
  if (timer->on_expire_) timer->on_expire_();
}

std::size_t Watchdog::expire_all() {
  std::lock_guard lock(mutex_);
  std::size_t expired = 0;
  for (; !queue_.empty(); ++expired) expire(queue_.begin());
  return expired;
}

DeadlineTimer::DeadlineTimer(std::function<void()> on_expire, Watchdog& watchdog)
    : watchdog_(watchdog), on_expire_(std::move(on_expire)) {}

DeadlineTimer::~DeadlineTimer() {
  disarm();
}

void DeadlineTimer::arm(std::chrono::nanoseconds timeout) {
  armed_ = true;
  watchdog_.arm(*this, Watchdog::Clock::now() + timeout);
}

void DeadlineTimer::disarm() {
  if (std::exchange(armed_, false)) watchdog_.disarm(*this);
}

}  // namespace warmpool::wasm::internal
