// warmpool/instance_pool.hpp — a thread-safe pool of pre-warmed instances.
//
// Generic over the instance type T (for warmpool, a WebAssembly instance) and
// the loader's error type E. The pool builds instances with a factory, keeps
// `warm_count` of them ready so the first call is a hit, caps the total at
// `max_instances`, and decides with `Recycle` and a `Lifecycle` what happens
// to an instance between uses.
//
//   warmpool::PoolConfig cfg{.max_instances = 8, .warm_count = 2};
//   auto pool = warmpool::InstancePool<Instance, WasmError>::create(
//       cfg, [&] { return Instance::instantiate(module); }, wasm::v8::lifecycle());
//   if (!pool) return pool.error();
//   {
//     auto inst = pool->checkout();             // RAII: returned on scope exit
//     if (inst) (*inst)->call("fib", args);
//   }
//   auto t = pool->acquire();                    // or by value ...
//   if (t) pool->release(std::move(*t));         // ... and back
//   std::cout << *pool << '\n';
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
// pool): the pool is an array of cache-line-sized slots, each with a small
// atomic state (empty, idle, lent, leased, busy, orphaned) changed by CAS. A
// thread remembers, in a thread-local table, the slot it used last and a
// metric shard of its own. A hit is one CAS on that slot (whose cache line
// stays in the thread's core) and a few stores to the thread's own shard; a
// release by the thread that acquired is a plain store (a "lent" slot is only
// ever touched by the thread it was lent to). No clock read, no shared counter
// and no full fence on either path. Other threads' slots are scanned only
// when the own slot has nothing; a miss reserves capacity with a CAS on the
// `live` counter (which therefore never exceeds max_instances) and builds
// outside any lock. An acquire that must wait joins a FIFO queue; the cost of
// not losing a wake-up is put on the waiter (an asymmetric fence), not on the
// release path. Background threads refill (woken by notification) and reap
// (using a coarse millisecond tick that the release path reads instead of a
// clock).
//
// Trade-offs: use counts and ages live in the slot, so they are exact for
// checkout() handles and for acquire()/release() on one thread; an instance
// released by another thread has no known history and, when max_uses or
// max_lifetime is set, is destroyed rather than risk exceeding them. Idle and
// lifetime limits are as precise as the reaper's period (a quarter of the
// shorter limit, 1 ms to 1 s). A checkout round trip costs two CAS, one more
// than acquire/release, because a handle may be returned after the pool died.
// T must be nothrow move constructible.
template <class T, PoolResourceLimit E>
class InstancePool {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "InstancePool<T, E>: T must be nothrow move constructible");
  using Core = internal::PoolCore<T, E>;

 public:
  using Factory = typename Core::Factory;

  // Builds min(warm_count, max_instances) instances before returning; a
  // factory error during warm-up is returned (an exception is rethrown) after
  // destroying what was built. `factory` is called from several threads at
  // once (callers missing the pool, refill threads).
  template <class F>
  requires std::is_invocable_r_v<std::expected<T, E>, F&> static std::expected<InstancePool, E>
  create(PoolConfig cfg, F factory, Lifecycle<T> lifecycle = {}) {
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
  std::expected<T, E> acquire() { return raw_->acquire(); }

  // Back to the idle set (or destroyed, per Recycle, Lifecycle and limits).
  void release(T instance) { raw_->release(std::move(instance)); }

  // Like acquire(), as an RAII handle that returns the instance on scope exit.
  std::expected<PooledInstance<T, E>, E> checkout() {
    std::expected<internal::Slot<T>*, E> s = raw_->lease();
    if (!s) return std::unexpected(std::move(s.error()));
    return PooledInstance<T, E>(raw_, *s);
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
