// The threads that run a loop (http_loop.hpp), the hand-over of a loop
// whose thread is stuck in a handler's inline work, and the monitor that
// decides it.
#include <algorithm>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include "http_loop.hpp"

namespace warmpool::cli {
namespace http_io {
namespace {

thread_local Loop* running_loop = nullptr;
thread_local unsigned thread_token = 0;
std::atomic<unsigned> next_token{1};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// A thread of `loop`: runs its handlers while it holds the baton, and waits
// as a spare while another does. Handlers run one by one (run_one) so that
// a thread that lost the baton during one runs no other.
void run_loop(Loop& loop) {
  running_loop = &loop;
  thread_token = next_token.fetch_add(1, std::memory_order_relaxed);
  std::unique_lock lock(loop.baton_mutex);
  while (true) {
    ++loop.spares;
    loop.baton_free.wait(lock, [&loop] {
      return loop.finished || loop.holder.load(std::memory_order_relaxed) == 0;
    });
    --loop.spares;
    if (loop.finished) return;
    loop.holder.store(thread_token, std::memory_order_release);
    lock.unlock();
    bool ended = false;
    while (loop.holder.load(std::memory_order_acquire) == thread_token) {
      if (loop.io.run_one() == 0) {
        ended = true;
        break;
      }
    }
    lock.lock();
    if (ended) {
      loop.finished = true;
      loop.baton_free.notify_all();
      return;
    }
  }
}

// The monitor's hand-over: the thread whose inline work began at `since`
// loses the baton, and a spare (or a new thread) takes it.
bool rescue(Loop& loop, std::int64_t since) {
  std::lock_guard lock(loop.baton_mutex);
  if (loop.finished) return false;
  // Cleared so that the next tick does not hand the loop on again; the
  // stuck thread's own clearing then finds another value and leaves it.
  if (!loop.inline_work_since.compare_exchange_strong(since, 0)) return false;
  if (loop.spares == 0) {
    // Made before the baton is let go: a thread that cannot be made (the
    // process's thread limit) leaves the stuck thread holding the loop, whose
    // connections then wait for its call, as they would without inline calls.
    try {
      loop.threads.emplace_back([&loop] { run_loop(loop); });
    } catch (const std::exception&) {
      return false;
    }
  }
  loop.holder.store(0, std::memory_order_release);
  // All: run() waits on the same condition for the loop's end, and must not
  // be the one woken instead of a spare.
  loop.baton_free.notify_all();
  return true;
}

}  // namespace

bool Loop::runs_on_this_thread() const {
  return running_loop == this && holder.load(std::memory_order_acquire) == thread_token;
}

void start_loop_thread(Loop& loop) {
  std::lock_guard lock(loop.baton_mutex);
  loop.threads.emplace_back([&loop] { run_loop(loop); });
}

void wait_until_finished(Loop& loop) {
  std::unique_lock lock(loop.baton_mutex);
  loop.baton_free.wait(lock, [&loop] { return loop.finished; });
}

void release_threads(Loop& loop, bool join) {
  std::vector<std::thread> threads;
  {
    // Not held while joining: a spare still has to take it to see `finished`.
    std::lock_guard lock(loop.baton_mutex);
    threads.swap(loop.threads);
  }
  for (std::thread& thread : threads) {
    if (join) {
      thread.join();
    } else {
      thread.detach();
    }
  }
}

InlineMonitor::InlineMonitor(const std::vector<std::unique_ptr<Loop>>& loops,
                             std::atomic<std::uint64_t>& handovers)
    : loops_(loops),
      handovers_(handovers),
      thread_([this](const std::stop_token& stop) { watch(stop); }) {}

void InlineMonitor::work_started() {
  if (!sleeping_.load()) return;
  {
    std::lock_guard lock(mutex_);
    sleeping_.store(false);
  }
  wake_.notify_one();
}

bool InlineMonitor::any_inline_work(std::int64_t now_ns) {
  bool any = false;
  for (const auto& loop : loops_) {
    const std::int64_t since = loop->inline_work_since.load();
    if (since == 0) continue;
    any = true;
    if (now_ns - since >= std::chrono::nanoseconds(kInlineRescueAfter).count() &&
        rescue(*loop, since)) {
      handovers_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return any;
}

// Sleeping is announced (sleeping_) before the last look at the loops, and
// work is marked before work_started() reads it (both sequentially
// consistent): either that look sees the work or work_started() wakes us.
void InlineMonitor::watch(const std::stop_token& stop) {
  const auto tick = kInlineRescueAfter / 2;
  int quiet_ticks = 0;
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    quiet_ticks = any_inline_work(now_ns()) ? 0 : quiet_ticks + 1;
    if (quiet_ticks < kIdleTicks) {
      wake_.wait_for(lock, stop, tick, [] { return false; });
      continue;
    }
    sleeping_.store(true);
    if (any_inline_work(now_ns())) {
      sleeping_.store(false);
      quiet_ticks = 0;
      continue;
    }
    wake_.wait(lock, stop, [this] { return !sleeping_.load(); });
    quiet_ticks = 0;
  }
}

}  // namespace http_io

bool InlineWork::available() {
  return http_io::running_loop != nullptr && http_io::running_loop->monitor != nullptr;
}

InlineWork::InlineWork() : loop_(available() ? http_io::running_loop : nullptr) {
  if (loop_ == nullptr) return;
  since_ = std::max<std::int64_t>(http_io::now_ns(), 1);
  loop_->inline_work_since.store(since_);
  loop_->monitor->work_started();
}

InlineWork::~InlineWork() {
  if (loop_ == nullptr) return;
  std::int64_t mine = since_;
  loop_->inline_work_since.compare_exchange_strong(mine, 0);
}

}  // namespace warmpool::cli
