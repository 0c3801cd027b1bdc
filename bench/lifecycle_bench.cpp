// Issue 3 benchmarks: the hit path with every lifecycle option on, Fresh
// acquire latency against Reuse, Fresh saturation versus refill_threads, and
// the acquire_timeout handoff latency from a release to a waiting thread.
// Issue 17: the same hit paths with the hooks given as a type (inline), and a
// Reuse pool whose only per-release work is a typed is_healthy reading a flag.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "bench_support.hpp"
#include "hit_loops.hpp"
#include "pool_types.hpp"
#include "suites.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <pthread.h>
#include <sched.h>

namespace bench {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::microseconds kFactoryCost{50};
// Fresh latency runs ask for an instance every kDemandPeriod: a quarter of
// what one refill thread can build with a kFactoryCost factory.
constexpr std::chrono::microseconds kDemandPeriod{200};
constexpr std::int64_t kLatencySamples = 10'000;
constexpr std::int64_t kHandoffSamples = 3'000;
// How long a waiter is left waiting before the release, so it is parked
// however the pool waits, not still on its way in.
constexpr std::chrono::microseconds kHandoffPark{50};

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

void spin_until(Clock::time_point deadline) {
  while (Clock::now() < deadline) cpu_relax();
}

std::expected<Handle, BenchError> make_costly_handle() {
  BusyWork::run(kFactoryCost);
  return make_instance<Handle>();
}

// The latency runs' CPU placement. On its own the scheduler soon puts the
// refill thread on the requester's CPU (it wakes there each request), so an
// unpinned run mostly measures that; pinned, refill builds on the other CPU
// and every spare crosses cores, the case a server with busy CPUs meets.
constexpr int kRequesterCpu = 0;
constexpr int kRefillCpu = 1;

bool pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// Set on the requester thread, which also builds the warm set.
thread_local bool is_requester = false;

// The factory; a refill thread pins itself to kRefillCpu on its first build.
std::expected<Handle, BenchError> make_costly_handle_on_refill_cpu() {
  if (!is_requester) {
    thread_local const bool pinned = pin_this_thread(kRefillCpu);
    if (!pinned) return std::unexpected(BenchError{"cannot pin the refill thread"});
  }
  return make_costly_handle();
}

[[noreturn]] void die_create(const BenchError& error) {
  die("InstancePool::create", error);
}

// --- hit path with every lifecycle option on ------------------------------

// Every option set, each to a value that never fires during the run, so the
// run measures what the options cost a hit, not what they do.
warmpool::PoolConfig all_options_config() {
  warmpool::PoolConfig cfg;
  cfg.max_instances = kHitPoolSize;
  cfg.warm_count = kHitPoolSize;
  cfg.recycle = warmpool::Recycle::Reset;
  cfg.acquire_timeout = 1000ms;
  cfg.idle_timeout = std::chrono::milliseconds(std::chrono::hours(1));
  cfg.max_uses = std::size_t{1} << 40;
  cfg.max_lifetime = std::chrono::milliseconds(std::chrono::hours(1));
  cfg.refill_threads = 1;
  return cfg;
}

// The erased hooks: trivial lambdas behind std::function. An empty
// Lifecycle (kNoHooks) is the same options without the two calls through
// std::function per release, to tell the options' cost from the hooks' (a
// decomposition: Reset without a reset hook keeps the instance as it is).
enum class ErasedHooks { kTrivial, kNoHooks, kHealthFlagOnly };

// A word of the instance that a real health check would read (never set here).
inline std::uint64_t health_flag(const Handle& h) {
  return h->value;
}
inline std::uint64_t health_flag(const Blob64& b) {
  return b.words[0];
}

template <class T, ErasedHooks Hooks>
warmpool::Lifecycle<T> erased_lifecycle() {
  warmpool::Lifecycle<T> lifecycle;
  if (Hooks == ErasedHooks::kTrivial) {
    lifecycle.reset = [](T&) { return true; };
    lifecycle.is_healthy = [](const T&) { return true; };
    lifecycle.on_destroy = [](T&) {};
  } else if (Hooks == ErasedHooks::kHealthFlagOnly) {
    lifecycle.is_healthy = [](const T& t) { return health_flag(t) == 0; };
  }
  return lifecycle;
}

// The erased rows' trivial hooks as a type, so they inline (and, being
// trivial, fold away: the row shows what calling typed hooks costs, not what
// a hook does; the health-flag rows below add a hook that does something).
template <class T>
struct TrivialHooks {
  static bool is_healthy(const T&) noexcept { return true; }
  static bool reset(T&) noexcept { return true; }
  static void on_destroy(T&) noexcept {}
};

// A Reuse pool's usual hook: only is_healthy, reading a flag (what both wasm
// lifecycles do).
template <class T>
struct HealthFlagHooks {
  static bool is_healthy(const T& t) noexcept { return health_flag(t) == 0; }
};

template <class T, class L>
void setup_pool(warmpool::PoolConfig cfg, L lifecycle) {
  auto created = Warm<T, L>::create(cfg, make_instance<T>, std::move(lifecycle));
  if (!created) die_create(created.error());
  shared_pool<Warm<T, L>> = std::make_unique<Warm<T, L>>(std::move(*created));
}

template <class T, ErasedHooks Hooks>
void setup_all_options_erased(const benchmark::State&) {
  setup_pool<T>(all_options_config(), erased_lifecycle<T, Hooks>());
}

template <class T, class L>
void setup_all_options_typed(const benchmark::State&) {
  setup_pool<T>(all_options_config(), L{});
}

// The hit pools' default configuration (as hit/warmpool/*) with a lifecycle.
warmpool::PoolConfig plain_hit_config() {
  warmpool::PoolConfig cfg;
  cfg.max_instances = kHitPoolSize;
  cfg.warm_count = kHitPoolSize;
  return cfg;
}

template <class T, class L>
void setup_plain_typed(const benchmark::State&) {
  setup_pool<T>(plain_hit_config(), L{});
}

template <class T, ErasedHooks Hooks>
void setup_plain_erased(const benchmark::State&) {
  setup_pool<T>(plain_hit_config(), erased_lifecycle<T, Hooks>());
}

// Both hit loops, named hit/<pool>/<loop>/<type>, on pools of type Warm<T, L>
// built by `setup`, at the thread counts `apply` sets.
template <class T, class L>
void register_hit_loops(const std::string& pool, const std::string& type,
                        void (*setup)(const benchmark::State&),
                        void (*apply)(benchmark::internal::Benchmark*)) {
  const std::pair<const char*, void (*)(benchmark::State&)> loops[] = {
      {"acquire_release", hit_acquire_release<Warm<T, L>>}, {"checkout", hit_checkout<Warm<T, L>>}};
  for (const auto& [name, loop] : loops) {
    benchmark::RegisterBenchmark(("hit/" + pool + "/" + name + "/" + type).c_str(), loop)
        ->Setup(setup)
        ->Teardown(teardown_shared<Warm<T, L>>)
        ->Apply(apply);
  }
}

void one_thread(benchmark::internal::Benchmark* b) {
  b->Threads(1)->UseRealTime();
}

void one_and_two_threads(benchmark::internal::Benchmark* b) {
  b->Threads(1)->Threads(2)->UseRealTime();
}

// --- acquire latency percentiles ------------------------------------------

Warm<Handle> make_latency_pool(warmpool::Recycle recycle, std::size_t refill_threads,
                               bool refill_on_other_cpu = false) {
  warmpool::PoolConfig cfg;
  cfg.max_instances = kHitPoolSize;
  cfg.warm_count = 4;
  cfg.recycle = recycle;
  cfg.refill_threads = refill_threads;
  cfg.acquire_timeout = 1000ms;
  auto created = refill_on_other_cpu ? Warm<Handle>::create(cfg, make_costly_handle_on_refill_cpu)
                                     : Warm<Handle>::create(cfg, make_costly_handle);
  if (!created) die_create(created.error());
  return std::move(*created);
}

void report_pool_counters(benchmark::State& state, const Warm<Handle>& pool) {
  const auto m = pool.metrics();
  const double total = static_cast<double>(m->hits() + m->misses());
  state.counters["hit_ratio"] = total > 0 ? static_cast<double>(m->hits()) / total : 0.0;
  state.counters["waits"] = static_cast<double>(m->waits());
}

// Times acquire() alone (manual time), one request per `period` (0 = back to
// back; a late request is not made up for); the instance is released right away.
void acquire_latency(benchmark::State& state, warmpool::Recycle recycle,
                     std::chrono::microseconds period, bool refill_on_other_cpu = false) {
  cpu_set_t was;
  if (refill_on_other_cpu) {
    if (std::thread::hardware_concurrency() < 2 ||
        pthread_getaffinity_np(pthread_self(), sizeof was, &was) != 0 ||
        !pin_this_thread(kRequesterCpu)) {
      state.SkipWithError("needs CPUs 0 and 1");
      return;
    }
    is_requester = true;
  }
  Warm<Handle> pool = make_latency_pool(recycle, 1, refill_on_other_cpu);
  LatencySamples samples(static_cast<std::size_t>(state.max_iterations));
  auto next = Clock::now();
  for (auto _ : state) {
    if (period.count() > 0) {
      next = std::max(next, Clock::now() - period);
      // Sleep, as a server thread waiting for its next request would: the
      // core stays free for refill, and caches cool down alike for every policy.
      next += period;
      std::this_thread::sleep_until(next);
    }
    const auto start = Clock::now();
    auto inst = pool.acquire();
    const auto end = Clock::now();
    if (!inst) [[unlikely]] {
      state.SkipWithError(inst.error().message.c_str());
      break;
    }
    touch(*inst);
    pool.release(std::move(*inst));
    const auto ns = nanos_between(start, end);
    samples.add(ns);
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
  }
  samples.report(state);
  report_pool_counters(state, pool);
  if (refill_on_other_cpu) {
    is_requester = false;
    pthread_setaffinity_np(pthread_self(), sizeof was, &was);
  }
}

// --- Fresh saturation -----------------------------------------------------

// One consumer asks for Fresh instances back to back; every release destroys,
// so throughput is bounded by how fast refill threads (and the consumer's own
// misses) can build. Counters show how many acquires were still hits.
void fresh_saturation(benchmark::State& state) {
  Warm<Handle> pool =
      make_latency_pool(warmpool::Recycle::Fresh, static_cast<std::size_t>(state.range(0)));
  acquire_release_loop(state, pool);
  report_pool_counters(state, pool);
}

// --- acquire_timeout handoff ----------------------------------------------

// The benchmark thread holds the only instance; a second thread waits for it
// in acquire(). Per round: wake the waiter, let it park, stamp t0 and
// release; the waiter stamps t1 when acquire() returns. Reports t1 - t0.
class HandoffRig {
 public:
  void run(benchmark::State& state, const std::function<void()>& acquire_in_waiter,
           const std::function<void()>& release_in_waiter,
           const std::function<std::uint64_t()>& waits_so_far,
           const std::function<void()>& release_held, const std::function<void()>& reacquire) {
    std::thread waiter([&] {
      for (std::int64_t round = 1;; ++round) {
        while (go_.load(std::memory_order_acquire) < round) {
          if (stop_.load(std::memory_order_acquire)) return;
          cpu_relax();
        }
        acquire_in_waiter();
        woke_at_.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
        release_in_waiter();
        done_.store(round, std::memory_order_release);
      }
    });
    LatencySamples samples(static_cast<std::size_t>(state.max_iterations));
    std::int64_t round = 0;
    const std::uint64_t waits_before = waits_so_far();
    for (auto _ : state) {
      ++round;
      go_.store(round, std::memory_order_release);
      while (waits_so_far() - waits_before < static_cast<std::uint64_t>(round)) cpu_relax();
      spin_until(Clock::now() + kHandoffPark);
      const auto released_at = Clock::now();
      release_held();
      while (done_.load(std::memory_order_acquire) < round) cpu_relax();
      const auto ns =
          woke_at_.load(std::memory_order_acquire) - released_at.time_since_epoch().count();
      samples.add(ns);
      state.SetIterationTime(static_cast<double>(ns) * 1e-9);
      reacquire();
    }
    stop_.store(true, std::memory_order_release);
    waiter.join();
    samples.report(state);
  }

 private:
  std::atomic<std::int64_t> go_{0};
  std::atomic<std::int64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<Clock::rep> woke_at_{0};
};

void handoff_warmpool(benchmark::State& state) {
  warmpool::PoolConfig cfg;
  cfg.max_instances = 1;
  cfg.warm_count = 1;
  cfg.acquire_timeout = 10'000ms;
  auto created = Warm<Handle>::create(cfg, make_instance<Handle>);
  if (!created) die_create(created.error());
  Warm<Handle>& pool = *created;
  auto held = pool.acquire();
  Handle waiter_inst;
  bool failed = false;
  HandoffRig rig;
  rig.run(
      state,
      [&] {
        auto got = pool.acquire();
        if (got)
          waiter_inst = std::move(*got);
        else
          failed = true;
      },
      [&] {
        if (waiter_inst) pool.release(std::move(waiter_inst));
      },
      [&] { return pool.metrics()->waits(); }, [&] { pool.release(std::move(*held)); },
      [&] { held = pool.acquire(); });
  if (failed || !held)
    state.SkipWithError("a handoff acquire failed");
  else
    pool.release(std::move(*held));
}

// Reference: the same handoff through a bare mutex + condition variable.
void handoff_condvar(benchmark::State& state) {
  std::mutex mutex;
  std::condition_variable cv;
  bool available = false;
  std::atomic<std::uint64_t> waits{0};
  HandoffRig rig;
  rig.run(
      state,
      [&] {
        std::unique_lock lock(mutex);
        waits.fetch_add(1, std::memory_order_release);
        cv.wait(lock, [&] { return available; });
        available = false;
      },
      [&] {
        std::lock_guard lock(mutex);
        available = true;
      },
      [&] { return waits.load(std::memory_order_acquire); },
      [&] {
        {
          std::lock_guard lock(mutex);
          available = true;
        }
        cv.notify_one();
      },
      [&] {
        std::lock_guard lock(mutex);
        available = false;
      });
}

}  // namespace

void register_lifecycle() {
  using Erased = warmpool::Lifecycle<Handle>;
  register_hit_loops<Handle, Erased>("warmpool_all_options", "handle",
                                     setup_all_options_erased<Handle, ErasedHooks::kTrivial>,
                                     thread_counts);
  register_hit_loops<Blob64, warmpool::Lifecycle<Blob64>>(
      "warmpool_all_options", "blob64", setup_all_options_erased<Blob64, ErasedHooks::kTrivial>,
      thread_counts);
  register_hit_loops<Handle, Erased>("warmpool_all_options_no_hooks", "handle",
                                     setup_all_options_erased<Handle, ErasedHooks::kNoHooks>,
                                     one_thread);
  // Issue 17: typed hooks against a typed lifecycle without hooks, same options.
  register_hit_loops<Handle, TrivialHooks<Handle>>(
      "warmpool_all_options_typed", "handle", setup_all_options_typed<Handle, TrivialHooks<Handle>>,
      one_and_two_threads);
  register_hit_loops<Blob64, TrivialHooks<Blob64>>(
      "warmpool_all_options_typed", "blob64", setup_all_options_typed<Blob64, TrivialHooks<Blob64>>,
      one_and_two_threads);
  register_hit_loops<Handle, warmpool::NoHooks>("warmpool_all_options_typed_no_hooks", "handle",
                                                setup_all_options_typed<Handle, warmpool::NoHooks>,
                                                one_and_two_threads);
  // Issue 17: a Reuse pool whose only hook is is_healthy reading a flag,
  // typed (the plain release paths, the check inline) and erased.
  register_hit_loops<Handle, HealthFlagHooks<Handle>>(
      "warmpool_health_flag_typed", "handle", setup_plain_typed<Handle, HealthFlagHooks<Handle>>,
      one_and_two_threads);
  register_hit_loops<Handle, Erased>("warmpool_health_flag_erased", "handle",
                                     setup_plain_erased<Handle, ErasedHooks::kHealthFlagOnly>,
                                     one_thread);

  const std::pair<const char*, warmpool::Recycle> policies[] = {
      {"fresh", warmpool::Recycle::Fresh}, {"reuse", warmpool::Recycle::Reuse}};
  for (const bool refill_on_other_cpu : {false, true}) {
    for (const auto& [policy, recycle] : policies) {
      const std::string name = std::string("latency/") + policy + "/paced_200us" +
                               (refill_on_other_cpu ? "/refill_on_other_cpu" : "");
      benchmark::RegisterBenchmark(name.c_str(),
                                   [recycle, refill_on_other_cpu](benchmark::State& s) {
                                     acquire_latency(s, recycle, kDemandPeriod,
                                                     refill_on_other_cpu);
                                   })
          ->Iterations(kLatencySamples)
          ->UseManualTime();
    }
  }
  benchmark::RegisterBenchmark("latency/reuse/back_to_back",
                               [](benchmark::State& s) {
                                 acquire_latency(s, warmpool::Recycle::Reuse,
                                                 std::chrono::microseconds{0});
                               })
      ->Iterations(kLatencySamples * 10)
      ->UseManualTime();

  benchmark::RegisterBenchmark("fresh_saturation/factory_50us/refill_threads", fresh_saturation)
      ->Arg(1)
      ->Arg(2)
      ->Arg(4)
      ->UseRealTime();

  benchmark::RegisterBenchmark("handoff/warmpool", handoff_warmpool)
      ->Iterations(kHandoffSamples)
      ->UseManualTime();
  benchmark::RegisterBenchmark("handoff/condvar_reference", handoff_condvar)
      ->Iterations(kHandoffSamples)
      ->UseManualTime();
}

}  // namespace bench
