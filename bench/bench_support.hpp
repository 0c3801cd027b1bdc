// bench/bench_support.hpp — what every pool benchmark shares: the pooled types,
// the error type, factories, calibrated busy work and latency percentiles.
//
// Hit benchmarks pool a pointer-sized `Handle` (as real engine instances are:
// a pimpl) and a 64-byte by-value `Blob64`; `BenchError` carries a string as
// the engines' WasmError does, so `std::expected<T, BenchError>` has a
// realistic size.
//
//   auto pool = warmpool::InstancePool<bench::Handle, bench::BenchError>::create(
//       cfg, bench::make_instance<bench::Handle>);
//   bench::LatencySamples samples(10'000);  ...  samples.report(state);
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <expected>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bench {

struct BenchError {
  std::string message;
  static BenchError resource_limit(std::string what) { return BenchError{std::move(what)}; }
};

struct Payload {
  std::uint64_t value = 0;
};
using Handle = std::unique_ptr<Payload>;

struct Blob64 {
  std::array<std::uint64_t, 8> words{};
};
static_assert(sizeof(Blob64) == 64);

template <class T>
std::expected<T, BenchError> make_instance() {
  if constexpr (std::is_same_v<T, Handle>) {
    return std::make_unique<Payload>();
  } else {
    return T{};
  }
}

// Keeps the optimiser from dropping a use of the instance we got.
inline void touch(Handle& h) {
  benchmark::DoNotOptimize(h.get());
}
inline void touch(Blob64& b) {
  benchmark::DoNotOptimize(b.words[0]);
}

using Clock = std::chrono::steady_clock;

inline std::int64_t nanos_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// CPU-bound work of a fixed cost, standing in for a factory that compiles or
// instantiates. Calibrated once against the thread's CPU clock, then a pure loop
// (so a preempted builder does not "finish" while descheduled, as a clock spin would).
class BusyWork {
 public:
  // Calibrates now (call once before timing anything); returns rounds per µs.
  static std::uint64_t calibrate_now() { return rounds_per_us(); }

  static void run(std::chrono::microseconds cost) {
    const std::uint64_t rounds = rounds_per_us() * static_cast<std::uint64_t>(cost.count());
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (std::uint64_t i = 0; i < rounds; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    benchmark::DoNotOptimize(x);
  }

 private:
  static std::uint64_t rounds_per_us() {
    static const std::uint64_t rounds = calibrate();
    return rounds;
  }
  static std::uint64_t calibrate() {
    // Timed in this thread's CPU time, so a busy machine (the thread being
    // descheduled mid-trial) does not make the work look slower than it is.
    constexpr std::uint64_t kTrialRounds = 1u << 20;
    double best_ns = 1e30;
    for (int trial = 0; trial < 7; ++trial) {
      const std::int64_t start = thread_cpu_ns();
      std::uint64_t x = 0x9e3779b97f4a7c15ull;
      for (std::uint64_t i = 0; i < kTrialRounds; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
      }
      benchmark::DoNotOptimize(x);
      best_ns = std::min(best_ns, static_cast<double>(thread_cpu_ns() - start));
    }
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(kTrialRounds * 1000.0 / best_ns));
  }
  static std::int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  }
};

// Per-iteration latencies, turned into percentile counters at the end of a run.
class LatencySamples {
 public:
  explicit LatencySamples(std::size_t expected) { samples_.reserve(expected); }

  void add(std::int64_t nanos) { samples_.push_back(nanos); }

  // Adds p50/p99/p99.9/max/mean (ns) counters. Percentiles are nearest-rank.
  void report(benchmark::State& state) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    const auto rank = [&](double q) {
      const auto n = samples_.size();
      auto i = static_cast<std::size_t>(q * static_cast<double>(n));
      return static_cast<double>(samples_[std::min(i, n - 1)]);
    };
    double sum = 0;
    for (auto s : samples_) sum += static_cast<double>(s);
    state.counters["p50_ns"] = rank(0.50);
    state.counters["p99_ns"] = rank(0.99);
    state.counters["p99.9_ns"] = rank(0.999);
    state.counters["max_ns"] = static_cast<double>(samples_.back());
    state.counters["mean_ns"] = sum / static_cast<double>(samples_.size());
  }

 private:
  std::vector<std::int64_t> samples_;
};

// Cost of one Clock::now() pair, so timed latencies can be read net of it.
inline double clock_pair_overhead_ns() {
  constexpr int kRounds = 100'000;
  std::int64_t best = INT64_MAX;
  for (int trial = 0; trial < 5; ++trial) {
    const auto start = Clock::now();
    for (int i = 0; i < kRounds; ++i) benchmark::DoNotOptimize(Clock::now());
    best = std::min(best, nanos_between(start, Clock::now()));
  }
  return static_cast<double>(best) / kRounds;
}

}  // namespace bench
