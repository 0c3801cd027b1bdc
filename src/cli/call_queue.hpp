// The admission queue in front of `warmpool serve`'s plugin calls: a fixed
// set of call threads that take calls in arrival order, a bounded number of
// calls that may wait for one, and a bound on how long they may wait.
//
// The server's I/O threads never run plugin code; they submit here. A call
// that finds `capacity` others already waiting is refused at once, and one
// that no call thread takes within `max_wait` is given up on by the queue's
// own timer thread, so both are answered (503) quickly even when every call
// thread is stuck in a spinning plugin. Waiting in one FIFO is what makes
// service fair under overload: no request is overtaken by a later one.
//
//   CallQueue queue({.threads = 4, .capacity = 16, .max_wait = std::chrono::seconds(1)});
//   bool taken = queue.submit([] { /* runs on a call thread */ },
//                             [] { /* ran instead: waited more than max_wait */ });
//   if (!taken) { /* answer 503: the queue is full */ }
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace warmpool::cli {

class CallQueue {
 public:
  struct Options {
    std::size_t threads = 4;
    std::size_t capacity = 16;  // calls that may wait beyond those a free thread takes at once
    std::chrono::milliseconds max_wait{1000};
  };

  explicit CallQueue(Options options);
  // Joins the call threads after their current call; calls still waiting get
  // their `expired` callback.
  ~CallQueue();
  CallQueue(const CallQueue&) = delete;
  CallQueue& operator=(const CallQueue&) = delete;

  // False (and nothing runs) when the queue is full. Otherwise exactly one of
  // `work` (on a call thread) or `expired` (on the timer thread, once the
  // call waited max_wait) runs.
  bool submit(std::move_only_function<void()> work, std::move_only_function<void()> expired);

  // For a call its caller runs itself (inline on an I/O loop): takes an
  // idle call thread's place, so calls running at once stay within
  // `threads` (and the pool's instances), when one is idle, no call waits
  // (so it overtakes none) and calls have been short lately (typical_call()
  // under kLongestInlineCall: a long call run inline holds the loop's other
  // connections, and several such calls on one loop run one after another
  // where call threads would run them side by side). Every true is paired
  // with release_place().
  bool take_place();
  void release_place();
  // How long a call took, however it ran: the moving average behind
  // take_place().
  void record_call(std::chrono::nanoseconds took);
  std::chrono::nanoseconds typical_call() const {
    return std::chrono::nanoseconds(typical_call_ns_.load(std::memory_order_relaxed));
  }
  // A hand-off to a call thread costs ~5 us of CPU (a wake-up and a post
  // back, measured): calls much longer than that gain little from running
  // inline and lose the call threads' parallelism.
  static constexpr std::chrono::nanoseconds kLongestInlineCall{10'000};

  std::size_t waiting() const;
  std::size_t busy_threads() const;
  std::uint64_t refused_full() const { return refused_full_.load(std::memory_order_relaxed); }
  std::uint64_t expired() const { return expired_.load(std::memory_order_relaxed); }
  std::uint64_t places_taken() const { return places_taken_.load(std::memory_order_relaxed); }
  const Options& options() const { return options_; }

  // Prometheus series (threads, busy, waiting, refusals by reason, calls
  // run inline), each
  // labelled pool="<pool>".
  std::string to_prometheus(std::string_view pool) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Call {
    Clock::time_point deadline;
    std::move_only_function<void()> work;
    std::move_only_function<void()> expired;
  };

  void serve_calls();
  void expire_calls();

  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable call_ready_;      // a call waits and a place is free
  std::condition_variable stop_requested_;  // the timer thread sleeps on it
  std::deque<Call> waiting_;
  std::size_t busy_ = 0;  // call threads running a call, and places taken
  bool stopping_ = false;
  std::atomic<std::uint64_t> refused_full_{0};
  std::atomic<std::uint64_t> expired_{0};
  std::atomic<std::uint64_t> places_taken_{0};
  // Exponential moving average (weight 1/8); updates racing each other may
  // lose one, which an average can afford.
  std::atomic<std::int64_t> typical_call_ns_{0};
  std::vector<std::jthread> threads_;  // last: started once everything above exists
};

}  // namespace warmpool::cli
