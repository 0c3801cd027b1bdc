#include "call_queue.hpp"

namespace warmpool::cli {

CallQueue::CallQueue(Options options) : options_(options) {
  threads_.reserve(options_.threads + 1);
  for (std::size_t i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this] { serve_calls(); });
  threads_.emplace_back([this] { expire_calls(); });
}

CallQueue::~CallQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  call_ready_.notify_all();
  oldest_changed_.notify_all();
  threads_.clear();  // joins
  for (auto& call : waiting_) {
    expired_.fetch_add(1, std::memory_order_relaxed);
    call.expired();
  }
}

bool CallQueue::submit(std::move_only_function<void()> work,
                       std::move_only_function<void()> expired) {
  {
    std::lock_guard lock(mutex_);
    const std::size_t idle = options_.threads - busy_;
    if (stopping_ || waiting_.size() >= options_.capacity + idle) {
      refused_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    waiting_.push_back({Clock::now() + options_.max_wait, std::move(work), std::move(expired)});
    if (waiting_.size() == 1) oldest_changed_.notify_one();
  }
  call_ready_.notify_one();
  return true;
}

void CallQueue::serve_calls() {
  std::unique_lock lock(mutex_);
  while (true) {
    call_ready_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
    if (stopping_) return;
    Call call = std::move(waiting_.front());
    waiting_.pop_front();
    ++busy_;
    oldest_changed_.notify_one();
    lock.unlock();
    call.work();
    call = {};  // whatever the work captured goes before the thread counts as free
    lock.lock();
    --busy_;
  }
}

// Only the oldest call can be the next to expire: every call waits the same
// max_wait, and they leave in arrival order.
void CallQueue::expire_calls() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (waiting_.empty()) {
      oldest_changed_.wait(lock);
      continue;
    }
    const Clock::time_point deadline = waiting_.front().deadline;
    if (Clock::now() < deadline) {
      oldest_changed_.wait_until(lock, deadline);
      continue;
    }
    Call call = std::move(waiting_.front());
    waiting_.pop_front();
    lock.unlock();
    expired_.fetch_add(1, std::memory_order_relaxed);
    call.expired();
    call = {};
    lock.lock();
  }
}

std::size_t CallQueue::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

std::size_t CallQueue::busy_threads() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

std::string CallQueue::to_prometheus() const {
  std::size_t waiting = 0, busy = 0;
  {
    std::lock_guard lock(mutex_);
    waiting = waiting_.size();
    busy = busy_;
  }
  return "# HELP warmpool_call_threads Threads that run plugin calls (--threads).\n"
         "# TYPE warmpool_call_threads gauge\n"
         "warmpool_call_threads " +
         std::to_string(options_.threads) +
         "\n"
         "# HELP warmpool_call_threads_busy Call threads running a call now.\n"
         "# TYPE warmpool_call_threads_busy gauge\n"
         "warmpool_call_threads_busy " +
         std::to_string(busy) +
         "\n"
         "# HELP warmpool_call_queue_waiting Calls waiting for a call thread.\n"
         "# TYPE warmpool_call_queue_waiting gauge\n"
         "warmpool_call_queue_waiting " +
         std::to_string(waiting) +
         "\n"
         "# HELP warmpool_call_queue_refused_total Calls answered 503 without running: the "
         "queue was full (--queue) or the call waited longer than --acquire-timeout-ms.\n"
         "# TYPE warmpool_call_queue_refused_total counter\n"
         "warmpool_call_queue_refused_total{reason=\"full\"} " +
         std::to_string(refused_full()) + "\nwarmpool_call_queue_refused_total{reason=\"wait\"} " +
         std::to_string(expired()) + "\n";
}

}  // namespace warmpool::cli
