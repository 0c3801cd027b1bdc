// warmpool/pool_config.hpp — how many instances a pool keeps, and what it does with them.
//
// A plain aggregate: fill in what you need, the rest keeps the seed's defaults
// (4 instances at most, 1 built ahead, reused as is, fail fast at capacity).
//
//   warmpool::PoolConfig cfg;
//   cfg.max_instances = 16;
//   cfg.warm_count = 4;
//   cfg.recycle = warmpool::Recycle::Fresh;          // isolation, still pre-warmed
//   cfg.acquire_timeout = std::chrono::milliseconds{50};
#pragma once

#include <chrono>
#include <cstddef>

namespace warmpool {

// What happens to an instance when it comes back to the pool.
enum class Recycle {
  // Back to the idle set as is: fastest, but guest memory, globals and WASI
  // state leak from one call to the next. Pick it for trusted, stateless work.
  Reuse,
  // `Lifecycle::reset` restores the just-created state on the releasing thread;
  // a failed reset destroys the instance. Isolation at the cost of a reset.
  Reset,
  // Every instance is handed out at most once and destroyed on release; the
  // pool's refill threads keep `warm_count` never-used spares ready, so an
  // acquire stays a hit while demand stays under refill capacity.
  Fresh,
};

struct PoolConfig {
  // Hard cap on instances that exist at once: idle, in use or being built.
  std::size_t max_instances = 4;
  // Built eagerly by `create`; under Fresh, the number of spares kept ready;
  // under Reuse/Reset, the floor the reaper never goes below and refill
  // restores after the pool destroyed an instance.
  std::size_t warm_count = 1;
  Recycle recycle = Recycle::Reuse;
  // 0: an acquire at capacity fails at once; otherwise it waits (FIFO) up to
  // this long for a release or a refill.
  std::chrono::milliseconds acquire_timeout{0};
  // 0: never; otherwise idle instances older than this are destroyed by the
  // reaper (never below `warm_count`).
  std::chrono::milliseconds idle_timeout{0};
  // 0: unlimited; otherwise an instance is destroyed on the release that ends
  // its Nth use.
  std::size_t max_uses = 0;
  // 0: unlimited; otherwise an instance older than this is destroyed instead
  // of reused. Measured with the reaper's coarse clock (see InstancePool).
  std::chrono::milliseconds max_lifetime{0};
  // Background builders (refill). 0 disables background refill. More than
  // the cores the request threads leave free builds less, not more: idle
  // builders wait for a wake-up while requests build for themselves.
  std::size_t refill_threads = 1;
};

}  // namespace warmpool
