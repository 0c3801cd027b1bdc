// warmpool/internal/pool_core.hpp — implementation detail of InstancePool: the
// shared state of one pool, its hit paths and how a returning instance is
// judged.
//
// Design: a hit is the calling thread taking its home slot (the slot it used
// last, remembered in a thread-local entry: thread_cache.hpp) inside an owner
// window (slot.hpp), with plain loads and stores; a return puts the instance
// back the same way. The hit paths below are inline and test no configuration:
// each compares one word of the thread's entry with one key of the pool
// (path_plan.hpp maps the configuration to those keys), so a pool that path
// does not serve, or a thread without a home slot, falls through to the
// out-of-line paths with one compare. release() has a second inline path for
// Reuse and Reset pools with per-release work (judged_release_key): the health
// check, use and age limits, the reset hook and the idle stamp, in that order.
// A handle's return to such a pool goes out of line instead, to one of eight
// copies of the judge specialised per plan (give_back_judged), picked when the
// pool is built, since a handle's destructor is often not inlined into the
// caller and a shared path's register saves and tests cost more than the work.
// The lifecycle's hooks are called through LifecycleHooks: a typed lifecycle's
// hooks inline and the ones it does not declare compile out; a Reuse pool whose
// only per-release work is a typed is_healthy keeps the plain paths and runs
// the check inline there.
//
// Trade-off: the fast paths serve the common case only (home slot owned,
// membarrier available, nobody waiting); everything else pays a call and the
// general path: misses, waits and builds (pool_core_acquire.hpp), returns of
// instances the thread does not hold Lent, a verdict other than keep,
// orphaned handles and shutdown (pool_core_return.hpp). The core lives in a
// std::shared_ptr so that everything that may outlive the InstancePool object
// (a PooledInstance still out, a thread's cache entry, the metrics handle)
// keeps the memory it points into valid.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "warmpool/internal/asymmetric_fence.hpp"
#include "warmpool/internal/background.hpp"
#include "warmpool/internal/lifecycle_hooks.hpp"
#include "warmpool/internal/path_plan.hpp"
#include "warmpool/internal/slot.hpp"
#include "warmpool/internal/slot_array.hpp"
#include "warmpool/internal/thread_cache.hpp"
#include "warmpool/internal/waiters.hpp"
#include "warmpool/lifecycle.hpp"
#include "warmpool/pool_config.hpp"
#include "warmpool/pool_metrics.hpp"

namespace warmpool::internal {

template <class T, class E, class L>
class PoolCore : public std::enable_shared_from_this<PoolCore<T, E, L>> {
  using Hooks = LifecycleHooks<L, T>;
  // A health hook the lifecycle's type declares as a function: the plain
  // release paths call it inline.
  static constexpr bool kInlineHealth = Hooks::kHealth == HookKind::always;

 public:
  using Factory = std::move_only_function<std::expected<T, E>()>;
  using Clock = std::chrono::steady_clock;

  PoolCore(PoolConfig cfg, Factory factory, L lifecycle)
      : PoolCore(next_pool_id.fetch_add(1, std::memory_order_relaxed), cfg, std::move(factory),
                 std::move(lifecycle), enable_asymmetric_fence()) {}

  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  ~PoolCore() = default;  // shutdown() emptied every slot that held an instance

  const PoolConfig& config() const noexcept { return cfg_; }
  std::shared_ptr<const PoolMetrics> metrics() const noexcept { return metrics_; }
  const PoolMetrics& metrics_ref() const noexcept { return m_; }
  std::optional<E> last_factory_error() const {
    std::lock_guard lk(error_mu_);
    return last_error_;
  }

  // Builds the warm set on the calling thread; on failure destroys what was built.
  std::optional<E> warm_up();
  void start_threads();
  // Stops the background threads, destroys idle instances, and hands instances
  // still checked out to their handles (Orphaned). The core stays allocated
  // until the last such handle is done.
  void shutdown() noexcept;

  // ---------------------------------------------------------------- hit paths
  //
  // The owner-window helpers they use are always_inline: in a large
  // translation unit GCC's inlining budget ran out, and the calls it left in
  // the default checkout cost 4.3 -> 4.9 ns. (Forcing lease() and acquire()
  // inline as well made the checkout slower: 5.1 ns.)

  std::expected<T, E> acquire() {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    // In a register across the window's barrier.
    const std::uint64_t key = waiters_.hit_key();
    if (e.key == key) [[likely]] {
      auto* s = static_cast<Slot<T>*>(e.slot);
      MetricShard* shard = e.shard;
      if (take_home(*s, shard->busy, kLent)) [[likely]] {
        e.key = key | 1;  // lent
        shard->hit_owned();
        return take_lent(*s);
      }
    }
    return acquire_slow();
  }

  [[gnu::always_inline]] void release(T&& t) {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    if (e.key == plan_.release_key) [[likely]] {
      if constexpr (kInlineHealth) {
        if (!Hooks::healthy(lifecycle_, t)) [[unlikely]] {
          drop_lent(e, std::move(t), Verdict::broken);
          return;
        }
      }
      // A Lent slot belongs to its borrower alone: a plain store returns it.
      auto* s = static_cast<Slot<T>*>(e.slot);
      s->emplace(std::move(t));
      e.key = key_;
      e.shard->returned_owned();
      s->state.store(thread_owner_bits | kIdle, std::memory_order_release);
      waiters_.after_idle(*s);
      return;
    }
    if (e.key == plan_.judged_release_key) [[likely]] {
      release_judged(e, std::move(t));
      return;
    }
    release_slow(std::move(t));
  }

  // checkout(): the instance stays in its slot; the handle refers to it.
  std::expected<Slot<T>*, E> lease() {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    if (e.key == waiters_.hit_key()) [[likely]] {
      auto* s = static_cast<Slot<T>*>(e.slot);
      MetricShard* shard = e.shard;
      if (take_home(*s, shard->busy, kLeased)) [[likely]] {
        shard->hit_owned();
        return s;
      }
    }
    return lease_slow();
  }

  // A handle gives its instance back (its destructor).
  [[gnu::always_inline]] void give_back(Slot<T>* s) noexcept {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    if (e.key == plan_.give_back_key && e.slot == s) [[likely]] {
      if constexpr (kInlineHealth) {
        if (!Hooks::healthy(lifecycle_, *s->get())) [[unlikely]] {
          give_back_slow(s, Verdict::broken);
          return;
        }
      }
      MetricShard* shard = e.shard;
      if (return_home(*s, shard->busy)) [[likely]] {
        shard->returned_owned();
        waiters_.after_idle(*s);
        return;
      }
      give_back_slow(s, Verdict::keep);
      return;
    }
    give_back_home_(*this, e, s);
  }

  // PooledInstance::take(): the instance and its capacity leave the pool.
  T take_leased(Slot<T>* s) noexcept;
  // PooledInstance::discard(): destroy now, never hand out again.
  void discard_leased(Slot<T>* s) noexcept;

 private:
  friend class Background<PoolCore>;
  enum class Verdict { keep, fresh, broken, expired };

  PoolCore(std::uint64_t id, PoolConfig cfg, Factory factory, L lifecycle, bool asym)
      : key_(ThreadEntry::key_of(id, false)),
        entry_offset_(id % kThreadCacheSize * sizeof(ThreadEntry)),
        plan_(plan_paths(cfg,
                         {Hooks::has_health(lifecycle), kInlineHealth, Hooks::has_reset(lifecycle)},
                         key_, asym)),
        asym_(asym),
        give_back_home_(give_back_home_for(plan_.fresh, Hooks::has_health(lifecycle),
                                           plan_.history_limits, plan_.resets)),
        lifecycle_(std::move(lifecycle)),
        id_(id),
        cfg_(normalise(cfg)),
        metrics_(std::make_shared<PoolMetrics>()),
        m_(*metrics_),
        factory_(std::move(factory)),
        slots_(cfg_.max_instances, asym),
        waiters_(plan_.plain_hit_key, asym),
        background_(*this, asym) {}

  static PoolConfig normalise(PoolConfig c) {
    c.warm_count = std::min(c.warm_count, c.max_instances);
    return c;
  }

  // ----------------------------------------------------------- owner windows

  // Moves the instance out of a slot this thread holds Lent.
  std::expected<T, E> take_lent(Slot<T>& s) noexcept {
    T* p = s.get();  // once: std::launder hides that both uses are one object
    std::expected<T, E> out(std::in_place, std::move(*p));
    std::destroy_at(p);
    return out;
  }

  // The owner's window on its home slot: Idle -> `to` (Lent or Leased).
  // `asym`: the pool's asym_ (the constant true on the inline paths).
  // `busy`: the thread's flag (in its shard).
  [[gnu::always_inline]] static bool take_home(Slot<T>& s, std::atomic<std::uint32_t>& busy,
                                               SlotState to, bool asym = true) noexcept {
    const StateWord idle = thread_owner_bits + kIdle;  // + rather than |: one lea each
    const StateWord taken = thread_owner_bits + to;
    return s.owner_window(asym, busy, [&] [[gnu::always_inline]] {
      if (s.state.load(std::memory_order_acquire) != idle) return false;
      s.state.store(taken, std::memory_order_relaxed);
      return true;
    });
  }

  // The owner's window on its home slot: Leased -> Idle. Only the holder and
  // (as a stealer) shutdown move a Leased slot, so the window suffices.
  [[gnu::always_inline]] static bool return_home(Slot<T>& s, std::atomic<std::uint32_t>& busy,
                                                 bool asym = true) noexcept {
    const StateWord leased = thread_owner_bits | kLeased;
    const StateWord idle = thread_owner_bits | kIdle;
    return s.owner_window(asym, busy, [&] [[gnu::always_inline]] {
      if (s.state.load(std::memory_order_relaxed) != leased) return false;
      s.state.store(idle, std::memory_order_release);
      return true;
    });
  }

  // ------------------------------------------------------------------- judge
  //
  // What a Reuse or Reset pool checks on release: a health hook, use and age
  // limits, a reset hook. PoolPlan asks the pool at each test; FixedPlan
  // answers with constants, for paths specialised per configuration. A hook
  // the lifecycle's type does not declare is a constant false in both.
  struct PoolPlan {
    const PoolCore& pool;
    bool health() const noexcept { return Hooks::has_health(pool.lifecycle_); }
    bool limits() const noexcept { return pool.plan_.history_limits; }
    bool reset() const noexcept { return Hooks::kReset != HookKind::absent && pool.plan_.resets; }
  };
  template <bool kHealth, bool kLimits, bool kReset>
  struct FixedPlan {
    static constexpr bool health() noexcept {
      return kHealth && Hooks::kHealth != HookKind::absent;
    }
    static constexpr bool limits() noexcept { return kLimits; }
    static constexpr bool reset() noexcept { return kReset && Hooks::kReset != HookKind::absent; }
  };

  // Decides a returning instance's fate. `counted` is false when the instance
  // has no slot history (use count and age unknown).
  template <class Plan>
  [[gnu::always_inline]] Verdict judge_by(const Plan& plan, T& t, SlotBase& s,
                                          bool counted) noexcept {
    if constexpr (Hooks::kHealth != HookKind::absent) {
      if (plan.health() && !Hooks::healthy(lifecycle_, t)) [[unlikely]]
        return Verdict::broken;
    }
    // With either limit set, both checks in one branch (an unset max_uses is
    // a cap never reached; the reaper marks lifetimes, see reap()).
    if (counted && plan.limits() && ((++s.uses >= plan_.uses_cap) | s.past_lifetime()))
        [[unlikely]] {
      return Verdict::expired;
    }
    if constexpr (Hooks::kReset != HookKind::absent) {
      if (plan.reset() && !Hooks::reset(lifecycle_, t)) [[unlikely]]
        return Verdict::broken;
    }
    return Verdict::keep;
  }

  [[gnu::always_inline]] Verdict judge(T& t, SlotBase& s, bool counted) noexcept {
    if (plan_.fresh) return Verdict::fresh;
    return judge_by(PoolPlan{*this}, t, s, counted);
  }

  // release() into this thread's Lent slot (only it touches that slot) in a
  // Reuse or Reset pool with per-release work: lifecycle options, idle
  // stamps. Inline, like the plain release: out of line, the call and its
  // register saves cost as much as everything it does when the instance is
  // kept.
  [[gnu::always_inline]] void release_judged(ThreadEntry& e, T&& t) {
    auto* s = static_cast<Slot<T>*>(e.slot);
    // keeps_unjudged here: only an idle stamp to do.
    const Verdict v = plan_.keeps_unjudged ? Verdict::keep : judge_by(PoolPlan{*this}, t, *s, true);
    if (v != Verdict::keep) [[unlikely]] {
      drop_lent(e, std::move(t), v);
      return;
    }
    e.key = key_;
    stamp_idle(*s);
    s->emplace(std::move(t));
    e.shard->returned_owned();
    s->state.store(thread_owner_bits | kIdle, std::memory_order_release);
    waiters_.after_idle(*s);
  }

  // give_back() into a pool with per-release work or without membarrier: the
  // owner-window return after judging, one copy per judge plan
  // (give_back_home_), so it tests no configuration: as one path serving
  // every plan, its tests and the jumps between them cost more than the work
  // (8.3 -> 7.3 ns per checkout with every option on, docs/PERFORMANCE.md).
  using GiveBackHome = void (*)(PoolCore&, ThreadEntry&, Slot<T>*) noexcept;

  template <bool kHealth, bool kLimits, bool kReset>
  [[gnu::noinline]] static void give_back_judged(PoolCore& pool, ThreadEntry& e,
                                                 Slot<T>* s) noexcept {
    pool.give_back_home(e, s, FixedPlan<kHealth, kLimits, kReset>{});
  }

  // Fresh: never kept, so give_back_slow() does all of it.
  [[gnu::noinline]] static void give_back_fresh(PoolCore& pool, ThreadEntry&, Slot<T>* s) noexcept {
    pool.give_back_slow(s, std::nullopt);
  }

  // `health`, `reset`: the hooks are set (constants for a typed lifecycle, so
  // only the copies its type can need are ever picked).
  static GiveBackHome give_back_home_for(bool fresh, bool health, bool limits,
                                         bool reset) noexcept {
    if (fresh) return &give_back_fresh;
    constexpr GiveBackHome kByPlan[] = {
        &give_back_judged<false, false, false>, &give_back_judged<false, false, true>,
        &give_back_judged<false, true, false>,  &give_back_judged<false, true, true>,
        &give_back_judged<true, false, false>,  &give_back_judged<true, false, true>,
        &give_back_judged<true, true, false>,   &give_back_judged<true, true, true>};
    return kByPlan[std::size_t{health} << 2 | std::size_t{limits} << 1 | std::size_t{reset}];
  }

  template <class Plan>
  [[gnu::always_inline]] void give_back_home(ThreadEntry& e, Slot<T>* s,
                                             const Plan& plan) noexcept {
    if (e.key == key_ && e.slot == s) {
      const Verdict v = judge_by(plan, *s->get(), *s, true);
      if (v != Verdict::keep) [[unlikely]] {
        give_back_slow(s, v);
        return;
      }
      stamp_idle(*s);
      if (return_home(*s, e.shard->busy, asym_)) [[likely]] {
        e.shard->returned_owned();
        waiters_.after_idle(*s);
        return;
      }
      give_back_slow(s, Verdict::keep);
      return;
    }
    give_back_slow(s, std::nullopt);
  }

  // When an instance became idle, for the reaper's idle_timeout. The paths
  // that judge stamp whether or not it is set: one store to a line they write
  // anyway, and no test of the configuration.
  void stamp_idle(SlotBase& s) const noexcept {
    s.idle_since.store(background_.tick(), std::memory_order_relaxed);
  }

  // ------------------------------------------- out of line (pool_core_*.hpp)

  // pool_core_acquire.hpp: misses, waits, builds, capacity, refill's work.
  [[gnu::noinline]] std::expected<T, E> acquire_slow();
  [[gnu::noinline]] std::expected<Slot<T>*, E> lease_slow();
  ThreadEntry& entry(ThreadEntry& stand_in);
  ThreadEntry& register_thread(ThreadEntry& stand_in);
  void move_home(ThreadEntry& e, Slot<T>* s) noexcept;
  void adopt_lent(ThreadEntry& e, Slot<T>& s) noexcept;
  void adopt_leased(ThreadEntry& e, Slot<T>* s) noexcept;
  void fresh_hit(ThreadEntry& e) noexcept;
  bool would_wait() const noexcept;
  E exhausted_now();
  std::expected<Slot<T>*, E> wait_for_instance(ThreadEntry& e, SlotState to);
  std::expected<T, E> build_for_caller(ThreadEntry& e);
  std::expected<Slot<T>*, E> build_leased(ThreadEntry& e);
  std::expected<T, E> build_or_unwind(Slot<T>* s);
  std::expected<T, E> timed_build();
  std::optional<E> build_and_place();
  void place_idle(T&& t);
  Slot<T>* claim_hinted() noexcept;
  bool try_reserve() noexcept;
  void unreserve() noexcept;
  bool refill_wanted() noexcept;
  bool refill_needed(std::size_t building) noexcept;
  bool reserve_refill() noexcept;
  bool build_spare();
  void refill_failed() noexcept;
  class Building;

  // pool_core_return.hpp: returns the hit paths do not serve, destruction,
  // orphaned handles, reaping.
  [[gnu::noinline]] void drop_lent(ThreadEntry& e, T&& t, Verdict v) noexcept;
  [[gnu::noinline]] void release_slow(T t);
  [[gnu::noinline]] void give_back_slow(Slot<T>* s, std::optional<Verdict> judged) noexcept;
  static bool leave_leased(Slot<T>* s, StateWord& st, SlotState to) noexcept;
  void rehome_after_fresh_release(ThreadEntry& e, Slot<T>* freed) noexcept;
  [[gnu::noinline]] void destroy_released(T&& t, Verdict v) noexcept;
  void destroy_instance(T& t) noexcept;
  void destroy_in_slot(Slot<T>& s) noexcept;
  void drop_capacity() noexcept;
  void finish_orphan(Slot<T>* s, bool taken) noexcept;
  void release_orphan_ref() noexcept;
  void reap(std::uint64_t now) noexcept;

  // ------------------------------------------------------------------ state

  // Read by the hit paths; written never after construction.
  const std::uint64_t key_;         // ThreadEntry::key_of(id_, false)
  const std::size_t entry_offset_;  // of this pool's entry in thread_entries, in bytes
  const PathPlan plan_;
  // membarrier is registered: owner windows and after_idle() need only a
  // compiler barrier (asymmetric_fence.hpp); false under TSan.
  const bool asym_;
  // give_back()'s path when plan_.give_back_key does not match.
  const GiveBackHome give_back_home_;
  [[no_unique_address]] const L lifecycle_;

  const std::uint64_t id_;
  const PoolConfig cfg_;
  const std::shared_ptr<PoolMetrics> metrics_;
  PoolMetrics& m_;
  Factory factory_;
  SlotArray<T> slots_;
  WaitQueue waiters_;
  Background<PoolCore> background_;

  mutable std::mutex error_mu_;
  std::optional<E> last_error_;
  // Instances the pool destroyed that refill may need to replace (Reuse/Reset).
  alignas(kNoFalseSharing) std::atomic<std::int64_t> debt_{0};
  // Fresh: the slot the last release emptied, where refill builds next.
  alignas(kNoFalseSharing) std::atomic<Slot<T>*> refill_hint_{nullptr};

  std::atomic<std::uint64_t> orphans_{0};
  std::shared_ptr<PoolCore> self_;
};

}  // namespace warmpool::internal

#include "warmpool/internal/pool_core_acquire.hpp"  // IWYU pragma: export
#include "warmpool/internal/pool_core_return.hpp"   // IWYU pragma: export
