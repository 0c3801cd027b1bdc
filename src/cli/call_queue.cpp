#include "call_queue.hpp"

#include <algorithm>

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
  stop_requested_.notify_all();
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
  }
  call_ready_.notify_one();
  return true;
}

void CallQueue::serve_calls() {
  std::unique_lock lock(mutex_);
  while (true) {
    call_ready_.wait(
        lock, [this] { return stopping_ || (!waiting_.empty() && busy_ < options_.threads); });
    if (stopping_) return;
    Call call = std::move(waiting_.front());
    waiting_.pop_front();
    ++busy_;
    lock.unlock();
    call.work();
    call = {};  // whatever the work captured goes before the thread counts as free
    lock.lock();
    --busy_;
  }
}

bool CallQueue::take_place() {
  std::lock_guard lock(mutex_);
  if (typical_call() >= kLongestInlineCall) return false;
  if (stopping_ || busy_ >= options_.threads || !waiting_.empty()) return false;
  ++busy_;
  places_taken_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void CallQueue::release_place() {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    --busy_;
    wake = !waiting_.empty();
  }
  if (wake) call_ready_.notify_one();
}

void CallQueue::record_call(std::chrono::nanoseconds took) {
  const std::int64_t typical = typical_call_ns_.load(std::memory_order_relaxed);
  typical_call_ns_.store(typical + (took.count() - typical) / 8, std::memory_order_relaxed);
}

// Only the oldest call can be the next to expire: every call waits the same
// max_wait, and they leave in arrival order. Nobody wakes this thread for a
// new or departed call (that was two futex wake-ups and a context switch per
// request): with the queue empty it looks again after max_wait, before any
// call submitted meanwhile can be due, and a departed oldest only means one
// early look. Waits under a millisecond may expire up to a millisecond late.
void CallQueue::expire_calls() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (waiting_.empty()) {
      stop_requested_.wait_for(
          lock, std::max<Clock::duration>(options_.max_wait, std::chrono::milliseconds(1)));
      continue;
    }
    const Clock::time_point deadline = waiting_.front().deadline;
    if (Clock::now() < deadline) {
      stop_requested_.wait_until(lock, deadline);
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

std::string CallQueue::to_prometheus(std::string_view pool) const {
  std::size_t waiting = 0, busy = 0;
  {
    std::lock_guard lock(mutex_);
    waiting = waiting_.size();
    busy = busy_;
  }
  const std::string label = "pool=\"" + std::string(pool) + "\"";
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    std::string labels;
    std::uint64_t value;
  };
  const Series series[] = {
      {"warmpool_call_threads", "gauge", "Threads that run this pool's calls.", label,
       options_.threads},
      {"warmpool_call_threads_busy", "gauge", "Call threads running a call now.", label, busy},
      {"warmpool_call_queue_waiting", "gauge", "Calls waiting for a call thread.", label, waiting},
      {"warmpool_call_queue_refused_total", "counter",
       "Calls answered 503 without running: the queue was full, or the call waited longer than "
       "the acquire timeout.",
       label + ",reason=\"full\"", refused_full()},
      {"warmpool_call_queue_refused_total", nullptr, nullptr, label + ",reason=\"wait\"",
       expired()},
      {"warmpool_calls_inline_total", "counter",
       "Calls run by the I/O thread that read them (--inline-calls), in a call thread's place.",
       label, places_taken()},
  };
  std::string out;
  for (const Series& s : series) {
    if (s.help != nullptr) {
      out += std::string("# HELP ") + s.name + " " + s.help + "\n# TYPE " + s.name + " " + s.type +
             "\n";
    }
    out += std::string(s.name) + "{" + s.labels + "} " + std::to_string(s.value) + "\n";
  }
  return out;
}

}  // namespace warmpool::cli
