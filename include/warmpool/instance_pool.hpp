// warmpool/instance_pool.hpp — a thread-safe pool of pre-warmed instances.
//
// Generic over the instance type T (for warmpool, a WebAssembly instance), the
// loader's error type E and a lifecycle L (lifecycle.hpp). The pool builds
// instances with a factory, keeps `warm_count` of them ready so the first call
// is a hit, caps the total at `max_instances`, and decides with `Recycle` and
// the lifecycle what happens to an instance between uses.
//
//   warmpool::PoolConfig cfg{.max_instances = 8, .warm_count = 2};
//   auto pool = warmpool::InstancePool<Instance, WasmError>::create(
//       cfg, [&] { return Instance::instantiate(linked); }, wasm::lifecycle());
//   if (!pool) return pool.error();
//   {
//     auto inst = pool->checkout();             // RAII: returned on scope exit
//     if (inst) (*inst)->call("fib", args);
//   }
//   auto t = pool->acquire();                    // or by value ...
//   if (t) pool->release(std::move(*t));         // ... and back
//   std::cout << *pool << '\n';
//
// The lifecycle above is the type-erased Lifecycle<T> (the default L). Given
// as a type, its hooks inline into the release paths and the hooks it does
// not declare cost nothing:
//
//   struct InstanceHooks {
//     static bool is_healthy(const Instance& i) noexcept { return i.healthy(); }
//     static bool reset(Instance& i) { return i.reset(); }
//   };
//   auto typed = warmpool::InstancePool<Instance, WasmError, InstanceHooks>::create(
//       cfg, [&] { return Instance::instantiate(module); });
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <ostream>
#include <type_traits>
#include <utility>

#include "warmpool/internal/pool_core.hpp"
#include "warmpool/lifecycle.hpp"
#include "warmpool/pool_config.hpp"
#include "warmpool/pool_metrics.hpp"
#include "warmpool/pool_resource_limit.hpp"
#include "warmpool/pooled_instance.hpp"

namespace warmpool {

// Design (HikariCP's ConcurrentBag, adapted to instances that move out of the
// pool): the pool is an array of slots spaced 256 bytes apart (prefetchers
// work on more than one line; internal/false_sharing.hpp), each with an atomic
// word holding a state (empty, idle, lent, leased, busy, orphaned) and an
// owner tag. A thread remembers, in a constant-initialised thread-local table,
// its "home" slot (the one it used last, tagged with its number) and a metric
// shard of its own. Hits on the home slot are owner-biased: the owner moves
// it idle -> lent/leased and a handle back leased -> idle with plain loads and
// stores inside an "owner window" (store busy flag, compiler barrier, check
// the slot's steal-request word), and a release is one plain store (a lent
// slot belongs to its borrower alone); counting is a plain increment of the
// shard's hits or returns. So a hit round trip executes no locked instruction,
// reads no clock and writes no cache line another core uses. The price sits
// on the rare side: anybody else taking an owned slot (another thread's scan,
// a waiter, the reaper, shutdown) first raises the slot's steal request and
// runs membarrier(PRIVATE_EXPEDITED) (internal/asymmetric_fence.hpp), which
// makes the owner's compiler barrier act as a full fence, waits for the owner
// to leave its window, and then CASes — a Dekker handshake whose proof is in
// internal/slot.hpp. Without membarrier, and under ThreadSanitizer, both
// sides use seq_cst operations instead (correct, slower owner path). Unowned
// slots are claimed with a plain CAS, and scans try them first. The claimer
// of a slot becomes its owner, so ownership follows use.
//
// A miss reserves capacity with a CAS on the `live` counter (which therefore
// never exceeds max_instances) and builds outside any lock. An acquire that
// must wait joins a FIFO queue; the cost of not losing a wake-up is again put
// on the waiter (membarrier), not on the release path. Background threads
// refill and reap (the reaper keeps a coarse millisecond tick that the release
// path reads instead of a clock, and marks instances in use that outlived
// max_lifetime, so their release needs no clock at all). A refill thread sleeps
// until notified, and is notified only when there is work (a destruction that
// leaves enough instances wakes nobody); after working it lingers for a bounded
// grace window (2 ms, re-checking every 100 µs in timed sleeps, never spinning)
// before it parks, and only a parked thread is notified. So an idle pool costs
// no CPU, and under steady demand (a Fresh hit per request) the acquiring
// thread never pays the futex wake-up. Under Fresh, the release that destroys
// an instance makes a spare built earlier its home (the spare's line crosses
// cores during the release, not the next acquire), leaves the slot it emptied
// to refill, and nudges a lingering refill thread so the replacement starts at
// once. Refill counts spares from hit counts each thread publishes on a line of
// its own, never by reading slots: a refill thread on another CPU touches no
// line the next Fresh hit reads.
//
// Trade-offs: a steal from an owned slot costs a system call (microseconds)
// instead of a CAS, which pays off as long as threads mostly reuse their own
// instance, the HikariCP bet. Use counts and ages live in the slot, so they
// are exact for checkout() handles and for acquire()/release() on one thread;
// an instance released by another thread has no known history and, when
// max_uses or max_lifetime is set, is destroyed rather than risk exceeding
// them. Idle and lifetime limits are as precise as the reaper's period (a
// quarter of the shorter limit, 1 ms to 1 s). Under Fresh, the first hit
// after 2 ms without refill work notifies the parked refill thread from the
// acquiring thread (a futex call); later hits find it lingering. The inline
// hit path serves every Reuse and Reset pool; release() runs the lifecycle
// work (health check, use and age limits, reset, idle stamp) inline too, and
// a handle's return does it out of line, in a copy specialised for the
// pool's set of checks. Fresh hits are out of line. A typed lifecycle's hooks
// inline into those paths; a Reuse pool whose only hook is a typed is_healthy
// keeps the plain inline release and return, with the check inline.
//
// The parts, each file opening with its own design notes: internal/pool_core.hpp
// (hit paths, judge), internal/path_plan.hpp (what each PoolConfig field means
// for the paths), internal/pool_core_acquire.hpp (misses, waits, builds),
// internal/pool_core_return.hpp (other returns, destruction, shutdown),
// internal/slot_array.hpp, internal/slot.hpp (owner window), internal/waiters.hpp
// (FIFO queue), internal/background.hpp (refill and reaper threads),
// internal/thread_cache.hpp, internal/lifecycle_hooks.hpp.
// T must be nothrow move constructible.
template <class T, PoolResourceLimit E, PoolLifecycle<T> L = Lifecycle<T>>
class InstancePool {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "InstancePool<T, E>: T must be nothrow move constructible");
  using Core = internal::PoolCore<T, E, L>;

 public:
  using Factory = typename Core::Factory;

  // Builds min(warm_count, max_instances) instances before returning; a
  // factory error during warm-up is returned (an exception is rethrown) after
  // destroying what was built. `factory` is called from several threads at
  // once (callers missing the pool, refill threads). `lifecycle` may be left
  // out when L is default constructible (a stateless hook type, NoHooks, or an
  // empty Lifecycle<T>).
  template <class F>
  requires std::is_invocable_r_v<std::expected<T, E>, F&> static std::expected<InstancePool, E>
  create(PoolConfig cfg, F factory, L lifecycle = {}) {
    if (cfg.max_instances == 0) {
      return std::unexpected(E::resource_limit("invalid pool config: max_instances must be >= 1"));
    }
    auto core = std::make_shared<Core>(cfg, Factory(std::move(factory)), std::move(lifecycle));
    std::optional<E> err;
    try {
      err = core->warm_up();
    } catch (...) {
      core->shutdown();
      throw;
    }
    if (err) {
      core->shutdown();
      return std::unexpected(std::move(*err));
    }
    core->start_threads();
    return InstancePool(std::move(core));
  }

  InstancePool(InstancePool&&) noexcept = default;
  InstancePool& operator=(InstancePool&& other) noexcept {
    if (this != &other) {
      stop();
      core_ = std::move(other.core_);
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  InstancePool(const InstancePool&) = delete;
  InstancePool& operator=(const InstancePool&) = delete;
  // Stops background threads (a build in progress finishes first) and
  // destroys idle instances; instances still out are destroyed when returned.
  ~InstancePool() { stop(); }

  // A warm instance if any (hit); else a new one if live < max_instances
  // (miss, built on this thread); else waits up to acquire_timeout, or for
  // builds in flight; else E::resource_limit naming the limit. A factory
  // error is returned, a factory exception rethrown; either way the reserved
  // capacity is given back.
  [[gnu::always_inline]] std::expected<T, E> acquire() { return raw_->acquire(); }

  // Back to the idle set (or destroyed, per Recycle, Lifecycle and limits).
  [[gnu::always_inline]] void release(T instance) { raw_->release(std::move(instance)); }

  // Like acquire(), as an RAII handle that returns the instance on scope exit.
  std::expected<PooledInstance<T, E, L>, E> checkout() {
    std::expected<internal::Slot<T>*, E> s = raw_->lease();
    if (!s) return std::unexpected(std::move(s.error()));
    return PooledInstance<T, E, L>(raw_, *s);
  }

  std::shared_ptr<const PoolMetrics> metrics() const noexcept { return raw_->metrics(); }
  const PoolConfig& config() const noexcept { return raw_->config(); }
  // The last error the factory returned (callers' builds and refill alike).
  std::optional<E> last_factory_error() const { return raw_->last_factory_error(); }

  friend std::ostream& operator<<(std::ostream& os, const InstancePool& p) {
    const PoolConfig& c = p.config();
    const PoolMetrics& m = p.raw_->metrics_ref();
    return os << "InstancePool{max_instances=" << c.max_instances << ", warm_count=" << c.warm_count
              << ", live=" << m.live() << ", idle=" << m.idle() << ", hits=" << m.hits()
              << ", misses=" << m.misses() << ", exhausted=" << m.exhausted() << "}";
  }

 private:
  explicit InstancePool(std::shared_ptr<Core> core) noexcept
      : core_(std::move(core)), raw_(core_.get()) {}

  void stop() noexcept {
    if (core_) core_->shutdown();
    core_.reset();
    raw_ = nullptr;
  }

  std::shared_ptr<Core> core_;
  Core* raw_ = nullptr;  // core_.get(), without the shared_ptr indirection
};

}  // namespace warmpool
