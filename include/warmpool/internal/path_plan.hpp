// warmpool/internal/path_plan.hpp — implementation detail of InstancePool:
// what a pool's configuration means for each of its paths, worked out once
// when the pool is built.
//
// Design: the hit paths (pool_core.hpp) test no configuration. Each compares
// one word of the calling thread's entry (thread_cache.hpp: the pool's id
// and a "lent" bit) with a key of the pool, and the key is the entry value
// only for a pool that path serves; for every other pool it is kNoEntryKey,
// which no entry ever holds, so that pool falls through to the next path.
// plan_paths() below is the whole mapping from PoolConfig (and the lifecycle's
// hooks) to those keys and to the flags the out-of-line paths read, one
// comment per field. Trade-off: a new option that gives a release work must
// be folded in here, or a hit path would skip it; the typed-versus-erased
// tests and PoolLifecycle.EveryCombinationOfChecksRunsExactlyItsOwnOnRelease
// run every combination on both return paths.
#pragma once

#include <cstdint>

#include "warmpool/internal/thread_cache.hpp"
#include "warmpool/pool_config.hpp"

namespace warmpool::internal {

// What the lifecycle's hooks contribute (lifecycle_hooks.hpp).
struct HookPresence {
  bool health;         // an is_healthy hook is set
  bool inline_health;  // ... and is a typed one, which the plain paths call inline
  bool reset;          // a reset hook is set
};

struct PathPlan {
  // --- What a release does (the judge's questions, pool_core.hpp) ---

  // recycle == Fresh: every release destroys; hits also tell refill.
  bool fresh;
  // Reuse, no health hook, no max_uses or max_lifetime: a release keeps the
  // instance without judging it.
  bool keeps_unjudged;
  // max_uses or max_lifetime set: a release counts the use and checks the
  // reaper's lifetime mark; an instance with no known history is not kept.
  bool history_limits;
  // recycle == Reset and a reset hook: a release restores the instance.
  bool resets;
  // max_uses, or a cap never reached when unset (one test for both limits).
  std::uint64_t uses_cap;

  // --- Which inline path serves which call: the entry key it matches ---

  // acquire()/lease() take the home slot inline: Reuse or Reset (a Fresh hit
  // also tells refill) and membarrier (the owner window's light side). While
  // acquirers wait, waiters.hpp switches this off.
  std::uint64_t plain_hit_key;
  // release() returns into its Lent slot with one plain store: Reuse without
  // limits and without idle_timeout (no stamp), and no health hook but an
  // inline one. Matches the entry's lent bit (key | 1).
  std::uint64_t release_key;
  // A handle's return with the owner window, inline: as release_key, and
  // membarrier.
  std::uint64_t give_back_key;
  // release()'s inline judged path: every other Reuse or Reset pool.
  std::uint64_t judged_release_key;
};

// `key`: ThreadEntry::key_of(pool id, false). `asym`: membarrier is registered.
constexpr PathPlan plan_paths(const PoolConfig& cfg, HookPresence hooks, std::uint64_t key,
                              bool asym) noexcept {
  const bool fresh = cfg.recycle == Recycle::Fresh;
  const bool reuse = cfg.recycle == Recycle::Reuse;
  const bool limits = cfg.max_uses != 0 || cfg.max_lifetime.count() > 0;
  const bool stamps_idle = cfg.idle_timeout.count() > 0;
  const bool plain_release =
      reuse && !limits && !stamps_idle && (!hooks.health || hooks.inline_health);
  PathPlan p{};
  p.fresh = fresh;
  p.keeps_unjudged = reuse && !hooks.health && !limits;
  p.history_limits = limits;
  p.resets = cfg.recycle == Recycle::Reset && hooks.reset;
  p.uses_cap = cfg.max_uses != 0 ? cfg.max_uses : ~std::uint64_t{0};
  p.plain_hit_key = !fresh && asym ? key : kNoEntryKey;
  p.release_key = plain_release ? key | 1 : kNoEntryKey;
  p.give_back_key = plain_release && asym ? key : kNoEntryKey;
  p.judged_release_key = !plain_release && !fresh ? key | 1 : kNoEntryKey;
  return p;
}

}  // namespace warmpool::internal
