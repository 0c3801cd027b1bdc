#include "load_driver.hpp"

#include <sys/prctl.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "progress_bar.hpp"

namespace warmpool::cli {

LoadResult drive_load(const LoadShape& shape, const CallFn& call, const std::string& label) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(shape.duration);
  const bool by_count = shape.calls > 0;
  const bool open_loop = shape.rate > 0;

  std::atomic<std::uint64_t> next{0};  // next call index to claim
  std::atomic<std::uint64_t> done{0};
  std::mutex merge_mutex;
  LoadResult result;

  auto worker = [&](std::size_t index) {
    // The default 50 µs timer slack would make every open-loop wake-up late,
    // and that lateness would be charged to the call being measured.
    if (open_loop) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    LatencySamples local;
    std::uint64_t ok = 0, failed = 0;
    std::optional<std::string> first_error;
    for (;;) {
      std::uint64_t k = next.fetch_add(1, std::memory_order_relaxed);
      if (by_count && k >= shape.calls) break;
      Clock::time_point begin;
      if (open_loop) {
        begin = start + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(k) / shape.rate));
        if (!by_count && begin >= end) break;
        std::this_thread::sleep_until(begin);
      } else {
        begin = Clock::now();
        if (!by_count && begin >= end) break;
      }
      auto error = call(index);
      auto finished = Clock::now();
      if (error) {
        ++failed;
        if (!first_error) first_error = std::move(error);
      } else {
        ++ok;
        local.add(finished - begin);
      }
      done.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard lock(merge_mutex);
    result.latencies.merge(std::move(local));
    result.ok += ok;
    result.failed += failed;
    if (first_error && !result.first_error) result.first_error = std::move(first_error);
  };

  std::vector<std::jthread> threads;
  threads.reserve(shape.threads);
  for (std::size_t i = 0; i < shape.threads; ++i) threads.emplace_back(worker, i);

  ProgressBar bar(label);
  if (bar.enabled()) {
    while (done.load() < shape.calls || !by_count) {
      double fraction = by_count
                            ? static_cast<double>(done.load()) / static_cast<double>(shape.calls)
                            : std::chrono::duration<double>(Clock::now() - start) / shape.duration;
      if (fraction >= 1.0) break;
      bar.update(fraction, std::to_string(done.load()) + " calls");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  threads.clear();  // joins
  bar.finish();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace warmpool::cli
