// warmpool_demo — what a warm pool buys: a cold call pays for building an
// instance, a warm call only for the pool's hit path.
//
// The "instance" here is a lookup table built from scratch by the factory
// (a real allocation plus real work, a few hundred microseconds), standing in
// for a compiled-and-instantiated plugin. All figures printed are measured on
// this run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <expected>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warmpool/warmpool.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct DemoError {
  std::string message;
  static DemoError resource_limit(std::string m) { return {std::move(m)}; }
};

// Expensive to build, cheap to use.
class SineTable {
 public:
  explicit SineTable(std::size_t n) : values_(n) {
    for (std::size_t i = 0; i < n; ++i) {
      values_[i] =
          std::sin(static_cast<double>(i) * 2.0 * 3.14159265358979 / static_cast<double>(n));
    }
  }
  double call(std::size_t i) const { return values_[i % values_.size()]; }

 private:
  std::vector<double> values_;
};

using Instance = std::unique_ptr<SineTable>;
using Pool = warmpool::InstancePool<Instance, DemoError>;

template <class F>
double micros(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  warmpool::PoolConfig cfg;
  cfg.max_instances = 4;
  cfg.warm_count = 1;
  cfg.refill_threads = 0;  // keep the demo's misses visible

  double sink = 0;
  std::expected<Pool, DemoError> pool = std::unexpected(DemoError{"not created"});
  const double create_time = micros([&] {
    pool = Pool::create(cfg, [] {
      return std::expected<Instance, DemoError>(std::make_unique<SineTable>(1 << 16));
    });
  });
  if (!pool) {
    std::cerr << "warmpool_demo: " << pool.error().message << '\n';
    return 1;
  }
  std::printf("create (warms %zu instance):  %9.1f us\n", cfg.warm_count, create_time);

  // Warm call: the instance built by create() is a hit.
  std::optional<warmpool::PooledInstance<Instance, DemoError>> first;
  const double warm_first = micros([&] {
    first.emplace(std::move(*pool->checkout()));
    sink += (**first)->call(7);
  });
  // Cold call: with the warm instance still held, the pool must build one.
  const double cold = micros([&] {
    auto h = pool->checkout();
    sink += (**h)->call(7);
  });
  first.reset();

  // Steady state: many warm calls, report the median.
  std::vector<double> samples;
  for (int i = 0; i < 10'000; ++i) {
    const auto t0 = Clock::now();
    auto h = pool->checkout();
    sink += (**h)->call(static_cast<std::size_t>(i));
    samples.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());

  std::printf("first call (warm hit):        %9.1f us\n", warm_first);
  std::printf("cold call (miss, builds):     %9.1f us\n", cold);
  std::printf("warm call, median of 10000:   %9.3f us\n", samples[samples.size() / 2] / 1000.0);
  std::cout << *pool << '\n';
  const auto m = pool->metrics();
  std::printf("created=%llu factory p50<=%lld us, checksum %.3f\n",
              static_cast<unsigned long long>(m->created()),
              static_cast<long long>(m->factory_build().percentile(0.5).count() / 1000), sink);
  return 0;
}
