// Shared pieces of the core pool tests: an error type, and an instance type
// that records its own life so tests can prove nothing is lost, doubled,
// shared between holders or leaked.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "warmpool/warmpool.hpp"

namespace warmpool::test {

// Sanitizer builds run the same scenarios with fewer iterations.
#if defined(WARMPOOL_TEST_SLOW)
inline constexpr int kScale = 4;
#else
inline constexpr int kScale = 1;
#endif

struct TestError {
  enum class Kind { resource_limit, factory };
  Kind kind;
  std::string message;
  static TestError resource_limit(std::string m) { return {Kind::resource_limit, std::move(m)}; }
  static TestError factory(std::string m) { return {Kind::factory, std::move(m)}; }
};

// Counts every Tracked ever built and every one destroyed.
struct Census {
  std::atomic<std::int64_t> built{0};
  std::atomic<std::int64_t> destroyed{0};
  std::int64_t alive() const { return built.load() - destroyed.load(); }
};

// An instance with an identity, a holder flag and mutable state. No default
// constructor; movable only (the state lives behind a unique_ptr, so a moved
// from object is empty and its destruction is not counted).
class Tracked {
 public:
  struct State {
    std::uint64_t id;
    Census* census;
    std::atomic<bool> held{false};
    std::uint64_t counter = 0;         // bumped by holders
    std::vector<std::uint64_t> notes;  // holders write their token here
    bool healthy = true;
  };

  Tracked(std::uint64_t id, Census& census) : s_(std::make_unique<State>()) {
    s_->id = id;
    s_->census = &census;
    census.built.fetch_add(1);
  }
  Tracked(Tracked&&) noexcept = default;
  Tracked& operator=(Tracked&&) noexcept = default;
  ~Tracked() {
    if (s_) s_->census->destroyed.fetch_add(1);
  }

  State& state() const { return *s_; }
  std::uint64_t id() const { return s_->id; }

 private:
  std::unique_ptr<State> s_;
};

using Pool = InstancePool<Tracked, TestError>;

// A factory with knobs: fail every Nth call, throw every Mth call.
struct TrackedFactory {
  Census* census;
  std::atomic<std::uint64_t>* next_id;
  std::atomic<std::uint64_t>* calls;
  std::uint64_t fail_every = 0;
  std::uint64_t throw_every = 0;
  std::chrono::microseconds work{0};

  std::expected<Tracked, TestError> operator()() const {
    const std::uint64_t n = calls->fetch_add(1) + 1;
    if (work.count() > 0) std::this_thread::sleep_for(work);
    if (throw_every != 0 && n % throw_every == 0) throw std::runtime_error("factory threw");
    if (fail_every != 0 && n % fail_every == 0) {
      return std::unexpected(TestError::factory("factory failed on call " + std::to_string(n)));
    }
    return Tracked(next_id->fetch_add(1) + 1, *census);
  }
};

// Owns what a TrackedFactory points to; declare before the pool.
struct Fixture {
  Census census;
  std::atomic<std::uint64_t> next_id{0};
  std::atomic<std::uint64_t> calls{0};
  TrackedFactory factory(std::uint64_t fail_every = 0, std::uint64_t throw_every = 0,
                         std::chrono::microseconds work = {}) {
    return TrackedFactory{&census, &next_id, &calls, fail_every, throw_every, work};
  }
};

// A pool config for tests: no background refill unless asked for, so counts
// stay deterministic.
inline PoolConfig config(std::size_t max, std::size_t warm, Recycle r = Recycle::Reuse,
                         std::size_t refill = 0) {
  PoolConfig c;
  c.max_instances = max;
  c.warm_count = warm;
  c.recycle = r;
  c.refill_threads = refill;
  return c;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds{5}) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return pred();
}

}  // namespace warmpool::test
