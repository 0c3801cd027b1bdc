// warmpool/internal/pool_core.hpp — implementation detail of InstancePool: the
// shared state of one pool and every path through it.
//
// The core lives in a std::shared_ptr so that everything that may outlive the
// InstancePool object (a PooledInstance still out, a thread's cache entry, the
// metrics handle) keeps the memory it points into valid. The design itself is
// described on InstancePool.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "warmpool/internal/asymmetric_fence.hpp"
#include "warmpool/internal/lifecycle_hooks.hpp"
#include "warmpool/internal/slot.hpp"
#include "warmpool/internal/thread_cache.hpp"
#include "warmpool/lifecycle.hpp"
#include "warmpool/pool_config.hpp"
#include "warmpool/pool_metrics.hpp"

namespace warmpool::internal {

template <class T, class E, class L>
class PoolCore : public std::enable_shared_from_this<PoolCore<T, E, L>> {
  using Hooks = LifecycleHooks<L, T>;
  // A health hook the lifecycle's type declares as a function: the plain
  // release paths call it inline, so a pool whose only per-release work it is
  // keeps them.
  static constexpr bool kInlineHealth = Hooks::kHealth == HookKind::always;

 public:
  using Factory = std::move_only_function<std::expected<T, E>()>;
  using Clock = std::chrono::steady_clock;

  PoolCore(PoolConfig cfg, Factory factory, L lifecycle)
      : id_(next_pool_id.fetch_add(1, std::memory_order_relaxed)),
        key_(ThreadEntry::key_of(id_, false)),
        entry_offset_(id_ % kThreadCacheSize * sizeof(ThreadEntry)),
        fresh_(cfg.recycle == Recycle::Fresh),
        fast_release_(cfg.recycle == Recycle::Reuse && !Hooks::has_health(lifecycle) &&
                      cfg.max_uses == 0 && cfg.max_lifetime.count() == 0),
        plain_release_(cfg.recycle == Recycle::Reuse && cfg.max_uses == 0 &&
                       cfg.max_lifetime.count() == 0 &&
                       (kInlineHealth || !Hooks::has_health(lifecycle))),
        stamp_idle_(cfg.idle_timeout.count() > 0),
        history_limits_(cfg.max_uses != 0 || cfg.max_lifetime.count() > 0),
        resets_(cfg.recycle == Recycle::Reset && Hooks::has_reset(lifecycle)),
        uses_cap_(cfg.max_uses != 0 ? cfg.max_uses : kUnlimited),
        asym_(enable_asymmetric_fence()),
        plain_hit_key_(fresh_ || !asym_ ? kNever : key_),
        release_key_(!plain_release_ || stamp_idle_ ? kNever : key_ | 1),
        give_back_key_(!plain_release_ || stamp_idle_ || !asym_ ? kNever : key_),
        judged_release_key_(release_key_ == kNever && !fresh_ ? key_ | 1 : kNever),
        give_back_home_(
            give_back_home_for(fresh_, Hooks::has_health(lifecycle), history_limits_, resets_)),
        cfg_(normalise(cfg)),
        metrics_(std::make_shared<PoolMetrics>()),
        m_(*metrics_),
        factory_(std::move(factory)),
        lifecycle_(std::move(lifecycle)),
        chunk_size_(std::max<std::size_t>(cfg_.max_instances, 16)),
        epoch_(Clock::now()),
        gate_(asym_ ? 0 : kGateSymmetric),
        hit_key_(plain_hit_key_) {
    chunks_[0] = std::make_unique<Slot<T>[]>(chunk_size_);
    chunk_count_.store(1, std::memory_order_release);
  }

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

  // ---------------------------------------------------------------- start/stop

  // Builds the warm set on the calling thread; on failure destroys what was built.
  std::optional<E> warm_up() {
    const std::size_t n = std::min(cfg_.warm_count, cfg_.max_instances);
    for (std::size_t i = 0; i < n; ++i) {
      (void)try_reserve();  // cannot fail: warm_count <= max_instances, nothing else runs yet
      if (std::optional<E> err = build_and_place()) {
        unreserve();
        return err;
      }
    }
    return std::nullopt;
  }

  // One build into the idle set; its error, if any (capacity already reserved).
  std::optional<E> build_and_place() {
    std::expected<T, E> r = timed_build();
    if (r.has_value()) {
      place_idle(std::move(r.value()));
      return std::nullopt;
    }
    return std::optional<E>(std::move(r).error());
  }

  void start_threads() {
    for (std::size_t i = 0; i < cfg_.refill_threads; ++i) {
      threads_.emplace_back([this] { refill_loop(); });
    }
    if (cfg_.idle_timeout.count() > 0 || cfg_.max_lifetime.count() > 0) {
      threads_.emplace_back([this] { reaper_loop(); });
    }
  }

  // Stops the background threads, destroys idle instances, and hands instances
  // still checked out to their handles (Orphaned). The core stays allocated
  // until the last such handle is done.
  void shutdown() noexcept {
    {
      std::lock_guard lk(bg_mu_);
      stopping_ = true;
    }
    refill_cv_.notify_all();
    reaper_cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();

    self_ = this->shared_from_this();
    orphans_.store(1, std::memory_order_relaxed);
    for_each_slot([&](Slot<T>& s) {
      for (;;) {
        StateWord st = s.state.load(std::memory_order_acquire);
        if (state_of(st) == kIdle) {
          if (!cas_slot(s, st, make_state(0, kBusy), 0)) continue;
          destroy_in_slot(s);
          m_.adjust_idle(-1);
          drop_capacity();
          s.state.store(make_state(0, kEmpty), std::memory_order_release);
          return;
        }
        if (state_of(st) == kLeased) {
          orphans_.fetch_add(1, std::memory_order_relaxed);
          if (cas_slot(s, st, make_state(0, kOrphaned), 0)) return;
          orphans_.fetch_sub(1, std::memory_order_relaxed);
          continue;
        }
        if (state_of(st) == kBusy) {  // a handle is returning, discarding or taking right now
          std::this_thread::yield();
          continue;
        }
        return;
      }
    });
    release_orphan_ref();
  }

  // ---------------------------------------------------------------- hit paths
  //
  // The inline fast paths serve the common case only: the thread's home slot
  // (thread_cache.hpp) carries its owner tag, membarrier is available, nobody
  // waits, and the pool needs no per-release work (Reuse without health check,
  // limits or idle timeout). The configuration is folded into the entry key
  // each path compares with (hit_key_, release_key_, give_back_key_), and
  // waiting acquirers turn hit_key_ off and count in gate_, so each path
  // compares one word of its entry with one of the pool (release also checks
  // gate_ for waiters after its store). They change the home slot inside an
  // owner window (slot.hpp) with plain loads and stores, so a hit round trip
  // executes no locked instruction. release() has a second inline path for
  // Reuse and Reset pools with per-release work (judged_release_key_):
  // acquire() is the same hit for them. Everything else, including a
  // handle's return to such a pool and every Fresh hit, is in the
  // out-of-line paths below. The owner-window helpers are always_inline: in
  // a large translation unit GCC's inlining budget ran out, and the calls it
  // left in the default checkout cost 4.3 -> 4.9 ns. (Forcing lease() and
  // acquire() inline as well made the checkout slower: 5.1 ns.)

  std::expected<T, E> acquire() {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    // In a register across the window's barrier.
    const std::uint64_t key = hit_key_.load(std::memory_order_relaxed);
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
    if (e.key == release_key_) [[likely]] {
      // A Lent slot belongs to its borrower alone: a plain store returns it.
      auto* s = static_cast<Slot<T>*>(e.slot);
      if constexpr (kInlineHealth) {
        if (!Hooks::healthy(lifecycle_, t)) [[unlikely]] {
          drop_lent(e, std::move(t), Verdict::broken);
          return;
        }
      }
      s->emplace(std::move(t));
      e.key = key_;
      e.shard->returned_owned();
      s->state.store(thread_owner_bits | kIdle, std::memory_order_release);
      after_idle(*s);
      return;
    }
    if (e.key == judged_release_key_) [[likely]] {
      release_judged(e, std::move(t));
      return;
    }
    release_slow(std::move(t));
  }

  // checkout(): the instance stays in its slot; the handle refers to it.
  std::expected<Slot<T>*, E> lease() {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    if (e.key == hit_key_.load(std::memory_order_relaxed)) [[likely]] {
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
    if (e.key == give_back_key_ && e.slot == s) [[likely]] {
      if constexpr (kInlineHealth) {
        if (!Hooks::healthy(lifecycle_, *s->get())) [[unlikely]] {
          give_back_slow(s, Verdict::broken);
          return;
        }
      }
      MetricShard* shard = e.shard;
      if (return_home(*s, shard->busy)) [[likely]] {
        shard->returned_owned();
        after_idle(*s);
        return;
      }
      give_back_slow(s, Verdict::keep);
      return;
    }
    give_back_home_(*this, e, s);
  }

  // PooledInstance::take(): the instance and its capacity leave the pool.
  T take_leased(Slot<T>* s) noexcept {
    ThreadEntry local;
    ThreadEntry& e = entry(local);
    std::shared_ptr<PoolCore> hold = e.registered() ? nullptr : this->weak_from_this().lock();
    T t = std::move(*s->get());
    StateWord st = s->state.load(std::memory_order_acquire);
    if (!leave_leased(s, st, kBusy)) {
      s->destroy();
      finish_orphan(s, true);
      return t;
    }
    s->destroy();
    s->state.store(make_state(tag_of(st), kEmpty), std::memory_order_release);
    m_.adjust_in_use(-1);
    drop_capacity();
    return t;
  }

  // PooledInstance::discard(): destroy now, never hand out again.
  void discard_leased(Slot<T>* s) noexcept {
    ThreadEntry local;
    ThreadEntry& e = entry(local);
    std::shared_ptr<PoolCore> hold = e.registered() ? nullptr : this->weak_from_this().lock();
    StateWord st = s->state.load(std::memory_order_acquire);
    if (!leave_leased(s, st, kBusy)) {
      finish_orphan(s, false);
      return;
    }
    T t = std::move(*s->get());
    s->destroy();
    s->state.store(make_state(tag_of(st), kEmpty), std::memory_order_release);
    destroy_released(std::move(t), Verdict::broken);
  }

 private:
  enum class Verdict { keep, fresh, broken, expired };
  // What a Reuse or Reset pool checks on release: a health hook, use and age
  // limits, a reset hook. PoolPlan asks the pool at each test; FixedPlan
  // answers with constants, for paths specialised per configuration.
  // A hook the lifecycle's type does not declare is a constant false in both.
  struct PoolPlan {
    const PoolCore& pool;
    bool health() const noexcept { return Hooks::has_health(pool.lifecycle_); }
    bool limits() const noexcept { return pool.history_limits_; }
    bool reset() const noexcept { return Hooks::kReset != HookKind::absent && pool.resets_; }
  };
  template <bool kHealth, bool kLimits, bool kReset>
  struct FixedPlan {
    static constexpr bool health() noexcept { return kHealth; }
    static constexpr bool limits() noexcept { return kLimits; }
    static constexpr bool reset() noexcept { return kReset; }
  };

  struct Waiter {
    std::condition_variable cv;
    bool signaled = false;
    Waiter* next = nullptr;
    Waiter* prev = nullptr;
  };
  // Counts a build in flight for its whole extent, including handing the
  // result over, so a waiter woken by its end finds the instance.
  class Building {
   public:
    explicit Building(PoolCore& core) noexcept : core_(core) {
      core_.m_.building_.fetch_add(1, std::memory_order_seq_cst);
    }
    Building(const Building&) = delete;
    Building& operator=(const Building&) = delete;
    ~Building() {
      core_.m_.building_.fetch_sub(1, std::memory_order_seq_cst);
      core_.notify_waiters_if_any();
    }

   private:
    PoolCore& core_;
  };
  static constexpr std::size_t kMaxChunks = 64;

  static PoolConfig normalise(PoolConfig c) {
    c.warm_count = std::min(c.warm_count, c.max_instances);
    return c;
  }

  // ------------------------------------------------------------ thread cache

  ThreadEntry& entry(ThreadEntry& stand_in) {
    ThreadEntry& e = thread_entry_at(entry_offset_);
    if (e.pool_id() == id_) [[likely]]
      return e;
    return register_thread(stand_in);
  }

  ThreadEntry& register_thread(ThreadEntry& stand_in) {
    if (thread_cache_state == ThreadCacheState::gone) {
      stand_in = ThreadEntry{ThreadEntry::key_of(id_, false), &m_.fallback_, &chunk(0)[0], 0};
      return stand_in;
    }
    ThreadKeepalive& keep = thread_keepalive;  // first use constructs it
    const std::size_t i = id_ % kThreadCacheSize;
    ThreadEntry& e = thread_entries[i];
    release_thread_entry(e);
    keep.pools[i] = this->shared_from_this();
    e.key = ThreadEntry::key_of(id_, false);
    e.shard = m_.claim_shard();
    e.slot = &chunk(0)[thread_ordinal % cfg_.max_instances];
    e.tag = thread_ordinal + 1;
    return e;
  }

  // The tag a registered thread writes into a slot it makes its home.
  static std::uint64_t home_tag(const ThreadEntry& e) noexcept {
    return e.registered() ? e.tag : 0;
  }

  // `e` put its tag into `s`'s word: stealers must watch e's busy flag. Done
  // before e can open a window on `s` (slot.hpp explains why that suffices).
  static void own(Slot<T>* s, const ThreadEntry& e, std::uint64_t tag) noexcept {
    if (tag != 0) s->owner_busy.store(&e.shard->busy, std::memory_order_seq_cst);
  }

  // `s` becomes the thread's home (it holds `s` with its tag in the word);
  // the previous home, if different, is given up.
  void move_home(ThreadEntry& e, Slot<T>* s) noexcept {
    if (e.slot != s) disown(*e.slot, e.tag);
    e.slot = s;
  }

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

  // Makes `s` (just moved to Lent by this thread) the thread's lent slot.
  void adopt_lent(ThreadEntry& e, Slot<T>& s) noexcept {
    if (!e.registered()) {  // nobody to own it: the instance leaves the slot for good
      s.state.store(make_state(0, kEmpty), std::memory_order_release);
      return;
    }
    if (e.lent()) {
      e.slot->state.store(make_state(0, kEmpty), std::memory_order_release);
      e.slot = &s;
    } else {
      move_home(e, &s);
    }
    e.set_lent(true);
  }

  // A Leased slot this thread made its home by claiming it (unless the thread
  // holds its home Lent, which stays its home).
  void adopt_leased(ThreadEntry& e, Slot<T>* s) noexcept {
    if (e.registered() && !e.lent()) move_home(e, s);
  }

  // The tag a claim by `e` writes: its own if the slot becomes its home.
  static std::uint64_t claim_tag(const ThreadEntry& e, SlotState to) noexcept {
    if (!e.registered()) return 0;
    return to == kLent || !e.lent() ? e.tag : 0;
  }

  // A Fresh spare was handed out: refill builds a replacement now, so spares
  // stay at warm_count while instances are held. The hit is published for
  // refill's count (PoolMetrics::fresh_spares); a lingering refill thread
  // notices by itself, and only a parked one (the pool was idle for
  // kRefillLinger) costs this thread a notification.
  void fresh_hit(ThreadEntry& e) noexcept {
    e.shard->publish_hits();
    wake_refill();
  }

  // Fresh: this thread's instance is gone and its home slot `freed` is Empty.
  // Refill's replacement would land there, built on another core: a line the
  // next acquire fetches across cores, the largest cost of a Fresh hit when
  // refill runs on another CPU. So the thread makes a spare built earlier its
  // home now, off the acquire path: the line comes over during this release,
  // and refill, which builds into `freed` (refill_hint_) and counts spares
  // without reading slots, does not touch it again. Unowned spares only:
  // another thread's home would cost the stealer's handshake. Nothing moves
  // when no spare is ready.
  void rehome_after_fresh_release(ThreadEntry& e, Slot<T>* freed) noexcept {
    if (e.registered() && !e.lent() && e.slot == freed) {
      if (Slot<T>* spare = tag_unowned_spare(e.tag)) {
        own(spare, e, e.tag);
        move_home(e, spare);
      }
    }
    refill_hint_.store(freed, std::memory_order_release);
  }

  // An unowned Idle slot, now carrying `tag` (still Idle); nullptr if none.
  // Unowned: a plain CAS, no stealer's handshake.
  Slot<T>* tag_unowned_spare(std::uint64_t tag) noexcept {
    const std::size_t n = chunk_count_.load(std::memory_order_acquire);
    for (std::size_t c = 0; c < n; ++c) {
      Slot<T>* base = chunk(c);
      for (std::size_t i = 0; i < chunk_size_; ++i) {
        StateWord st = make_state(0, kIdle);
        if (base[i].state.load(std::memory_order_relaxed) != st) continue;
        if (base[i].state.compare_exchange_strong(
                st, make_state(tag, kIdle), std::memory_order_acq_rel, std::memory_order_relaxed)) {
          return &base[i];
        }
      }
    }
    return nullptr;
  }

  // --------------------------------------------------------------- slow paths

  [[gnu::noinline]] std::expected<T, E> acquire_slow() {
    ThreadEntry local;
    ThreadEntry& e = entry(local);
    // The home-slot hit for pools the inline path does not serve (Fresh, no
    // membarrier); not while others wait, so they are served first.
    if (e.key == key_ && e.registered() && waiters() == 0) {
      auto& home = *static_cast<Slot<T>*>(e.slot);
      if (take_home(home, e.shard->busy, kLent, asym_)) {
        e.set_lent(true);
        e.shard->hit_owned();
        if (fresh_) fresh_hit(e);
        return take_lent(home);
      }
    }
    const bool may_barge = waiters() == 0 || !would_wait();
    if (may_barge) {
      if (Slot<T>* s = claim_idle(kLent, e)) {
        e.shard->hit();
        if (fresh_) fresh_hit(e);
        adopt_lent(e, *s);
        return take_lent(*s);
      }
      if (try_reserve()) return build_for_caller(e);
      if (!would_wait()) return std::unexpected(exhausted_now());
    }
    std::expected<Slot<T>*, E> w = wait_for_instance(e, kLent);
    if (!w) return std::unexpected(std::move(w.error()));
    if (*w == nullptr) return build_for_caller(e);
    adopt_lent(e, **w);
    return take_lent(**w);
  }

  [[gnu::noinline]] std::expected<Slot<T>*, E> lease_slow() {
    ThreadEntry local;
    ThreadEntry& e = entry(local);
    if (e.key == key_ && e.registered() && waiters() == 0) {  // as in acquire_slow()
      auto* home = static_cast<Slot<T>*>(e.slot);
      if (take_home(*home, e.shard->busy, kLeased, asym_)) {
        e.shard->hit_owned();
        if (fresh_) fresh_hit(e);
        return home;
      }
    }
    const bool may_barge = waiters() == 0 || !would_wait();
    if (may_barge) {
      if (Slot<T>* s = claim_idle(kLeased, e)) {
        e.shard->hit();
        if (fresh_) fresh_hit(e);
        adopt_leased(e, s);
        return s;
      }
      if (try_reserve()) return build_leased(e);
      if (!would_wait()) return std::unexpected(exhausted_now());
    }
    std::expected<Slot<T>*, E> w = wait_for_instance(e, kLeased);
    if (!w || *w == nullptr) return w ? build_leased(e) : w;
    adopt_leased(e, *w);
    return w;
  }

  bool would_wait() const noexcept {
    return cfg_.acquire_timeout.count() > 0 || m_.building_.load(std::memory_order_seq_cst) > 0;
  }

  E exhausted_now() {
    PoolMetrics::bump(m_.exhausted_);
    return E(E::resource_limit(
        "instance pool at capacity: max_instances=" + std::to_string(cfg_.max_instances) +
        " reached (" + std::to_string(m_.in_use()) + " in use, " + std::to_string(m_.building()) +
        " being built)"));
  }

  // The instance a caller builds itself after reserving capacity (a miss).
  std::expected<T, E> build_for_caller(ThreadEntry& e) {
    PoolMetrics::bump(m_.misses_);
    Slot<T>* s = claim_empty();
    if (s == nullptr) {
      unreserve();
      return std::unexpected(E::resource_limit("instance pool: no free slot"));
    }
    std::expected<T, E> r = [&] {
      Building b(*this);
      return build_or_unwind(s);
    }();
    if (!r) return r;
    m_.adjust_in_use(1);
    s->uses = 0;
    s->born.store(tick(), std::memory_order_relaxed);
    own(s, e, claim_tag(e, kLent));
    s->state.store(make_state(claim_tag(e, kLent), kLent), std::memory_order_release);
    adopt_lent(e, *s);
    return r;
  }

  std::expected<Slot<T>*, E> build_leased(ThreadEntry& e) {
    PoolMetrics::bump(m_.misses_);
    Slot<T>* s = claim_empty();
    if (s == nullptr) {
      unreserve();
      return std::unexpected(E::resource_limit("instance pool: no free slot"));
    }
    Building b(*this);
    std::expected<T, E> r = build_or_unwind(s);
    if (!r) return std::unexpected(std::move(r.error()));
    s->emplace(std::move(*r));
    m_.adjust_in_use(1);
    s->uses = 0;
    s->born.store(tick(), std::memory_order_relaxed);
    own(s, e, claim_tag(e, kLeased));
    s->state.store(make_state(claim_tag(e, kLeased), kLeased), std::memory_order_release);
    adopt_leased(e, s);
    return s;
  }

  // Runs the factory for a reserved, claimed (Busy) slot; on error or
  // exception gives slot and capacity back (and rethrows the exception).
  std::expected<T, E> build_or_unwind(Slot<T>* s) {
    try {
      std::expected<T, E> r = timed_build();
      if (!r) {
        s->state.store(make_state(0, kEmpty), std::memory_order_release);
        unreserve();
      }
      return r;
    } catch (...) {
      s->state.store(make_state(0, kEmpty), std::memory_order_release);
      unreserve();
      throw;
    }
  }

  // The factory call with its bookkeeping (capacity already reserved).
  std::expected<T, E> timed_build() {
    const auto t0 = Clock::now();
    std::optional<std::expected<T, E>> r;
    try {
      r.emplace(factory_());
    } catch (...) {
      m_.factory_build_.record(Clock::now() - t0);
      PoolMetrics::bump(m_.factory_failures_);
      throw;
    }
    m_.factory_build_.record(Clock::now() - t0);
    if (*r) {
      PoolMetrics::bump(m_.created_);
    } else {
      PoolMetrics::bump(m_.factory_failures_);
      std::lock_guard lk(error_mu_);
      last_error_ = r->error();
    }
    return std::move(*r);
  }

  // release() into this thread's Lent slot (only it touches that slot) in a
  // Reuse or Reset pool with per-release work: lifecycle options, idle
  // stamps. Inline, like the plain release: out of line, the call and its
  // register saves cost as much as everything it does when the instance is
  // kept.
  [[gnu::always_inline]] void release_judged(ThreadEntry& e, T&& t) {
    auto* s = static_cast<Slot<T>*>(e.slot);
    // fast_release_ here: only an idle stamp to do.
    const Verdict v = fast_release_ ? Verdict::keep : judge_reused(t, *s, true);
    if (v != Verdict::keep) [[unlikely]] {
      drop_lent(e, std::move(t), v);
      return;
    }
    e.key = key_;
    stamp_idle(*s);
    s->emplace(std::move(t));
    e.shard->returned_owned();
    s->state.store(thread_owner_bits | kIdle, std::memory_order_release);
    after_idle(*s);
  }

  // release() into this thread's Lent slot of an instance the pool will not keep.
  [[gnu::noinline]] void drop_lent(ThreadEntry& e, T&& t, Verdict v) noexcept {
    e.key = key_;
    e.slot->state.store(thread_owner_bits | kEmpty, std::memory_order_release);
    destroy_released(std::move(t), v);
  }

  // release() of an instance this thread does not hold Lent.
  [[gnu::noinline]] void release_slow(T t) {
    ThreadEntry local;
    ThreadEntry& e = entry(local);
    if (e.key == (key_ | 1)) {  // Fresh (the other policies judge inline): from the Lent slot
      e.key = key_;
      auto* freed = static_cast<Slot<T>*>(e.slot);
      freed->state.store(thread_owner_bits | kEmpty, std::memory_order_release);
      rehome_after_fresh_release(e, freed);
      destroy_released(std::move(t), Verdict::fresh);
      return;
    }
    // Without a Lent slot the pool cannot tell this instance's history; with
    // use or age limits configured it is not reused, so the limits always hold.
    Verdict v = history_limits_ ? Verdict::expired : Verdict::keep;
    if (v == Verdict::keep && !fast_release_) v = judge(t, *e.slot, false);
    // An instance released while nothing is in use did not come from our
    // in-use set (taken, or from elsewhere): it needs capacity of its own.
    if (m_.in_use() == 0) {
      if (!try_reserve()) {
        destroy_instance(t);
        return;
      }
      m_.adjust_in_use(1);
    }
    if (v != Verdict::keep) {
      destroy_released(std::move(t), v);
      return;
    }
    Slot<T>* s = claim_empty();
    if (s == nullptr) {
      destroy_released(std::move(t), Verdict::expired);
      return;
    }
    s->emplace(std::move(t));
    s->uses = 0;
    s->born.store(tick(), std::memory_order_relaxed);
    s->idle_since.store(tick(), std::memory_order_relaxed);
    e.shard->returned();
    // Becomes this thread's home unless it holds its home Lent.
    const bool home = e.registered() && !e.lent();
    if (home) {
      move_home(e, s);
      own(s, e, e.tag);
    }
    s->state.store(make_state(home ? e.tag : 0, kIdle), std::memory_order_release);
    after_idle(*s);
  }

  // give_back() into a pool with per-release work or without membarrier:
  // the same owner-window return, after judging the instance. Out of line,
  // unlike release_judged(): a handle's destructor is often not inlined into
  // the caller, and this path's register saves would then tax every return.
  // One copy per judge plan, chosen at construction (give_back_home_), so it
  // tests no configuration: as one path serving every plan, its tests and
  // the jumps between them cost more than the work (8.3 -> 7.3 ns per
  // checkout with every option on, docs/PERFORMANCE.md).
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
        after_idle(*s);
        return;
      }
      give_back_slow(s, Verdict::keep);
      return;
    }
    give_back_slow(s, std::nullopt);
  }

  // A handle's return that the fast path could not do: another thread's
  // handle, a verdict other than keep (`v`; nullopt: not judged yet), or a
  // slot orphaned by shutdown.
  [[gnu::noinline]] void give_back_slow(Slot<T>* s, std::optional<Verdict> judged) noexcept {
    ThreadEntry local;
    ThreadEntry& e = entry(local);  // also keeps this core alive until we are done
    std::shared_ptr<PoolCore> hold = e.registered() ? nullptr : this->weak_from_this().lock();
    const Verdict v =
        judged ? *judged : (fast_release_ ? Verdict::keep : judge(*s->get(), *s, true));
    StateWord st = s->state.load(std::memory_order_acquire);
    if (v == Verdict::keep) {
      stamp_idle(*s);
      if (leave_leased(s, st, kIdle)) {
        e.shard->returned();
        after_idle(*s);
        return;
      }
      finish_orphan(s, false);
      return;
    }
    if (!leave_leased(s, st, kBusy)) {
      finish_orphan(s, false);
      return;
    }
    T t = std::move(*s->get());
    s->destroy();
    s->state.store(make_state(tag_of(st), kEmpty), std::memory_order_release);
    if (v == Verdict::fresh) rehome_after_fresh_release(e, s);
    destroy_released(std::move(t), v);
  }

  // The handle holder moves its Leased slot to `to`, keeping the owner tag
  // (retrying if the owner drops it meanwhile); false if shutdown orphaned it.
  // No handshake: the owner writes a Leased slot only when it is the holder.
  static bool leave_leased(Slot<T>* s, StateWord& st, SlotState to) noexcept {
    for (;;) {
      if (state_of(st) != kLeased) return false;
      if (s->state.compare_exchange_weak(st, make_state(tag_of(st), to), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
        return true;
      }
    }
  }

  // Decides what a returning instance's fate is. `counted` is false when the
  // instance has no slot history (use count and age unknown).
  [[gnu::always_inline]] Verdict judge(T& t, SlotBase& s, bool counted) noexcept {
    if (fresh_) return Verdict::fresh;
    return judge_reused(t, s, counted);
  }

  [[gnu::always_inline]] Verdict judge_reused(T& t, SlotBase& s, bool counted) noexcept {
    return judge_by(PoolPlan{*this}, t, s, counted);
  }

  template <class Plan>
  [[gnu::always_inline]] Verdict judge_by(const Plan& plan, T& t, SlotBase& s,
                                          bool counted) noexcept {
    if constexpr (Hooks::kHealth != HookKind::absent) {
      if (plan.health() && !Hooks::healthy(lifecycle_, t)) [[unlikely]]
        return Verdict::broken;
    }
    // With either limit set, both checks in one branch (an unset max_uses is
    // a cap never reached; the reaper marks lifetimes, see reap()).
    if (counted && plan.limits() && ((++s.uses >= uses_cap_) | s.past_lifetime())) [[unlikely]] {
      return Verdict::expired;
    }
    if constexpr (Hooks::kReset != HookKind::absent) {
      if (plan.reset() && !Hooks::reset(lifecycle_, t)) [[unlikely]]
        return Verdict::broken;
    }
    return Verdict::keep;
  }

  // An in-use instance the pool will not keep.
  [[gnu::noinline]] void destroy_released(T&& t, Verdict v) noexcept {
    {
      T doomed = std::move(t);
      destroy_instance(doomed);
    }
    m_.adjust_in_use(-1);
    if (v == Verdict::broken) PoolMetrics::bump(m_.discarded_);
    if (v == Verdict::broken || v == Verdict::expired) {
      debt_.fetch_add(1, std::memory_order_seq_cst);
    }
    drop_capacity();
  }

  // Runs on_destroy; the caller destroys the object itself.
  void destroy_instance(T& t) noexcept {
    Hooks::on_destroy(lifecycle_, t);
    PoolMetrics::bump(m_.destroyed_);
  }

  void destroy_in_slot(Slot<T>& s) noexcept {
    destroy_instance(*s.get());
    s.destroy();
  }

  // Capacity freed by a destruction or a take(): refill and waiters may use it.
  void drop_capacity() noexcept {
    m_.live_.fetch_sub(1, std::memory_order_seq_cst);
    if (fresh_) nudge_lingering_refill();
    wake_refill();
    notify_waiters_if_any();
  }

  void finish_orphan(Slot<T>* s, bool taken) noexcept {
    if (!taken) destroy_in_slot(*s);
    m_.adjust_in_use(-1);
    m_.live_.fetch_sub(1, std::memory_order_relaxed);
    release_orphan_ref();
  }

  void release_orphan_ref() noexcept {
    if (orphans_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::shared_ptr<PoolCore> last = std::move(self_);
    }
  }

  // ---------------------------------------------------------------- capacity

  bool try_reserve() noexcept {
    std::uint64_t cur = m_.live_.load(std::memory_order_relaxed);
    while (cur < cfg_.max_instances) {
      if (m_.live_.compare_exchange_weak(cur, cur + 1, std::memory_order_seq_cst)) return true;
    }
    return false;
  }

  void unreserve() noexcept {
    m_.live_.fetch_sub(1, std::memory_order_seq_cst);
    notify_waiters_if_any();
    wake_refill();
  }

  // ------------------------------------------------------------------- slots

  Slot<T>* chunk(std::size_t i) const noexcept { return chunks_[i].get(); }

  template <class F>
  void for_each_slot(F&& f) {
    const std::size_t n = chunk_count_.load(std::memory_order_acquire);
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t i = 0; i < chunk_size_; ++i) f(chunk(c)[i]);
    }
  }

  // CAS on a slot's state word by a thread whose tag is `mine`; through the
  // stealer's handshake when another thread owns the slot and could be
  // writing it inside an owner window (states Idle and Leased).
  bool cas_slot(SlotBase& s, StateWord& expected, StateWord desired, std::uint64_t mine) noexcept {
    const std::uint64_t owner = tag_of(expected);
    const SlotState st = state_of(expected);
    if (owner != 0 && owner != mine && (st == kIdle || st == kLeased)) {
      return s.steal_cas(expected, desired, [this] { heavy_fence(asym_); });
    }
    return s.state.compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                           std::memory_order_acquire);
  }

  // Finds an Idle slot and moves it to `to` (Lent or Leased) with owner tag
  // `tag`. Unowned (or own) slots first: taking another thread's home costs
  // the stealer's handshake (a membarrier).
  Slot<T>* claim_idle(SlotState to, const ThreadEntry& e) noexcept {
    const std::size_t n = chunk_count_.load(std::memory_order_acquire);
    const std::size_t start = thread_ordinal % chunk_size_;
    const std::uint64_t mine = home_tag(e);
    const std::uint64_t tag = claim_tag(e, to);
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t c = 0; c < n; ++c) {
        Slot<T>* base = chunk(c);
        for (std::size_t k = 0; k < chunk_size_; ++k) {
          Slot<T>& s = base[(start + k) % chunk_size_];
          StateWord st = s.state.load(std::memory_order_seq_cst);
          if (state_of(st) != kIdle) continue;
          const bool foreign = tag_of(st) != 0 && tag_of(st) != mine;
          if (foreign != (pass == 1)) continue;
          if (cas_slot(s, st, make_state(tag, to), mine)) {
            own(&s, e, tag);
            return &s;
          }
        }
      }
    }
    return nullptr;
  }

  // Finds an Empty slot and moves it to Busy (keeping its owner tag, so a
  // refilled home slot is a hit for its owner), growing the slot array if
  // needed. The owner never writes an Empty slot, so a CAS suffices.
  // `homes_first`: prefer Empty slots that are some thread's home (under
  // Fresh, the slot its last instance was destroyed in), so that the refill
  // lands where that thread looks first: its next acquire is a home hit, not
  // a scan of lines the refill thread has just written.
  Slot<T>* claim_empty(bool homes_first = false) noexcept {
    for (;;) {
      const std::size_t n = chunk_count_.load(std::memory_order_acquire);
      for (int pass = homes_first ? 0 : 1; pass < 2; ++pass) {
        for (std::size_t c = 0; c < n; ++c) {
          Slot<T>* base = chunk(c);
          for (std::size_t i = 0; i < chunk_size_; ++i) {
            StateWord st = base[i].state.load(std::memory_order_relaxed);
            if (state_of(st) != kEmpty || (pass == 0 && tag_of(st) == 0)) continue;
            if (base[i].state.compare_exchange_strong(st, make_state(tag_of(st), kBusy),
                                                      std::memory_order_acquire)) {
              return &base[i];
            }
          }
        }
      }
      // Every slot is taken: Lent slots of threads that handed their instance
      // to another thread can pile up. Grow (rare; memory only).
      std::lock_guard lk(chunk_mu_);
      if (chunk_count_.load(std::memory_order_relaxed) != n) continue;
      if (n == kMaxChunks) return nullptr;
      try {
        chunks_[n] = std::make_unique<Slot<T>[]>(chunk_size_);
      } catch (...) {
        return nullptr;
      }
      chunk_count_.store(n + 1, std::memory_order_release);
    }
  }

  void place_idle(T&& t) {
    Slot<T>* s = claim_hinted();
    if (s == nullptr) s = claim_empty(true);
    if (s == nullptr) {
      destroy_instance(t);
      m_.live_.fetch_sub(1, std::memory_order_seq_cst);
      return;
    }
    s->emplace(std::move(t));
    s->uses = 0;
    s->born.store(tick(), std::memory_order_relaxed);
    s->idle_since.store(tick(), std::memory_order_relaxed);
    m_.adjust_idle(1);
    const StateWord st = s->state.load(std::memory_order_relaxed);  // Busy: ours
    s->state.store(make_state(tag_of(st), kIdle), std::memory_order_seq_cst);
    notify_waiters_if_any();
  }

  // The slot a Fresh release last emptied, if still Empty: refill builds
  // there without scanning, since a scan reads other threads' home slots
  // (rehome_after_fresh_release).
  Slot<T>* claim_hinted() noexcept {
    if (!fresh_) return nullptr;
    Slot<T>* s = refill_hint_.exchange(nullptr, std::memory_order_acquire);
    if (s == nullptr) return nullptr;
    StateWord st = s->state.load(std::memory_order_relaxed);
    if (state_of(st) != kEmpty) return nullptr;
    return s->state.compare_exchange_strong(st, make_state(tag_of(st), kBusy),
                                            std::memory_order_acquire)
               ? s
               : nullptr;
  }

  std::uint64_t tick() const noexcept { return tick_.load(std::memory_order_relaxed); }

  // When an instance became idle, for the reaper's idle_timeout. The paths
  // that judge stamp whether or not it is set: one store to a line they write
  // anyway, and no test of the configuration.
  void stamp_idle(SlotBase& s) const noexcept {
    s.idle_since.store(tick(), std::memory_order_relaxed);
  }

  // ----------------------------------------------------------------- waiting

  // After an instance became Idle: wake the first waiter, if any. A waiter
  // runs membarrier after enqueuing (asymmetric_fence.hpp), so a compiler
  // barrier orders this load after the Idle store; without membarrier
  // kGateSymmetric sends every release to the full fence in after_idle_slow().
  [[gnu::always_inline]] void after_idle(SlotBase& s) noexcept {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (gate_.load(std::memory_order_relaxed) != 0) [[unlikely]]
      after_idle_slow(s);
  }

  // Somebody waits (or the pool runs without membarrier). The waiter will
  // claim `s`: given up by this thread first, it is an unowned slot the
  // waiter takes with a plain CAS, not another thread's home, which would
  // cost it the stealer's membarrier on the hand-off's critical path.
  [[gnu::noinline]] void after_idle_slow(SlotBase& s) noexcept {
    if (!asym_) full_fence();
    if (waiters() == 0) return;
    disown(s, tag_of(thread_owner_bits));
    signal_head();
  }

  std::uint64_t waiters() const noexcept {
    return gate_.load(std::memory_order_seq_cst) / kGateWaiter;
  }

  void notify_waiters_if_any() noexcept {
    if (waiters() != 0) signal_head();
  }

  void signal_head() noexcept {
    std::lock_guard lk(wait_mu_);
    if (head_ != nullptr) {
      head_->signaled = true;
      head_->cv.notify_one();
    }
  }

  void unlink(Waiter& w) noexcept {
    (w.prev ? w.prev->next : head_) = w.next;
    (w.next ? w.next->prev : tail_) = w.prev;
    gate_.fetch_sub(kGateWaiter, std::memory_order_seq_cst);
    if (head_ != nullptr) {  // the next in line re-evaluates
      head_->signaled = true;
      head_->cv.notify_one();
    } else {
      hit_key_.store(plain_hit_key_, std::memory_order_relaxed);
    }
  }

  // FIFO wait. Only the head of the queue claims; the others sleep until they
  // become the head. Returns the claimed slot (in state `to`), or nullptr when
  // capacity was reserved for the caller to build.
  std::expected<Slot<T>*, E> wait_for_instance(ThreadEntry& e, SlotState to) {
    PoolMetrics::bump(m_.waits_);
    const auto t0 = Clock::now();
    const bool timed = cfg_.acquire_timeout.count() > 0;
    const auto deadline = timed ? t0 + cfg_.acquire_timeout : Clock::time_point::max();
    Waiter w;
    std::unique_lock lk(wait_mu_);
    w.prev = tail_;
    (tail_ ? tail_->next : head_) = &w;
    tail_ = &w;
    gate_.fetch_add(kGateWaiter, std::memory_order_seq_cst);
    hit_key_.store(kNever, std::memory_order_relaxed);  // hits queue up behind us
    lk.unlock();
    heavy_fence(asym_);  // pairs with the compiler barrier in after_idle()
    lk.lock();
    for (;;) {
      if (head_ == &w) {
        if (Slot<T>* s = claim_idle(to, e)) {
          unlink(w);
          lk.unlock();
          m_.acquire_wait_.record(Clock::now() - t0);
          e.shard->hit();
          if (fresh_) fresh_hit(e);
          return s;
        }
        if (try_reserve()) {
          unlink(w);
          lk.unlock();
          m_.acquire_wait_.record(Clock::now() - t0);
          return nullptr;
        }
        if (!timed && m_.building_.load(std::memory_order_seq_cst) == 0) {
          unlink(w);
          lk.unlock();
          m_.acquire_wait_.record(Clock::now() - t0);
          return std::unexpected(exhausted_now());
        }
      }
      if (Clock::now() >= deadline) {
        unlink(w);
        lk.unlock();
        m_.acquire_wait_.record(Clock::now() - t0);
        PoolMetrics::bump(m_.wait_timeouts_);
        PoolMetrics::bump(m_.exhausted_);
        return std::unexpected(E::resource_limit(
            "instance pool at capacity: no instance became available within acquire_timeout=" +
            std::to_string(cfg_.acquire_timeout.count()) +
            " ms (max_instances=" + std::to_string(cfg_.max_instances) + ")"));
      }
      w.cv.wait_until(lk, deadline, [&] { return w.signaled; });
      w.signaled = false;
    }
  }

  // -------------------------------------------------------------- background

  // Wakes a parked refill thread, but only when one is parked and there is
  // work for it (a futex wake and a context switch per destruction otherwise:
  // the cold path). A lingering thread finds the work by itself within
  // kRefillPoll, so under steady demand (a Fresh hit per request) the caller
  // pays a compiler barrier and the load of a line that refill threads write
  // only when they park or wake: no cache miss, no locked instruction, no
  // system call. Every change that creates work calls this after making the
  // change; a refill thread announces itself parked, runs heavy_fence(), and
  // only then re-checks for work (wait_for_refill_work), the asymmetric
  // Dekker handshake of after_idle(), so no wake-up is lost.
  void wake_refill() noexcept {
    if (asym_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      full_fence();
    }
    if (refill_parked_.load(std::memory_order_relaxed) == 0) [[likely]]
      return;
    wake_parked_refill();
  }

  // Fresh: an instance was destroyed, so a spare is due. A lingering refill
  // thread starts it now instead of at its next poll (up to kRefillPoll plus
  // timer slack later), so it is ready before the next request, in the
  // requester's home slot; a late spare makes that acquire scan other slots,
  // each a cache line refill last wrote on another core. Only releases and
  // other destructions nudge, never a hit, and only while a thread lingers:
  // a busy one finds the work when it finishes, a parked one is
  // wake_refill()'s. The nudge is a flag the wait's predicate reads, so one
  // that comes between two waits is seen at the next.
  void nudge_lingering_refill() noexcept {
    if (refill_lingering_.load(std::memory_order_relaxed) == 0) return;
    refill_nudged_.store(true, std::memory_order_relaxed);
    refill_cv_.notify_all();
  }

  [[gnu::noinline]] void wake_parked_refill() noexcept {
    if (!refill_wanted()) return;
    {
      std::lock_guard lk(bg_mu_);
      refill_signal_ = true;
    }
    refill_cv_.notify_all();
  }

  bool refill_wanted() noexcept {
    const std::uint64_t live = m_.live_.load(std::memory_order_seq_cst);
    if (live >= cfg_.max_instances) return false;
    if (fresh_) return m_.fresh_spares() < static_cast<std::int64_t>(cfg_.warm_count);
    if (debt_.load(std::memory_order_seq_cst) <= 0) return false;
    if (live >= cfg_.warm_count) {
      debt_.store(0, std::memory_order_seq_cst);  // enough instances remain: nothing to replace
      return false;
    }
    return true;
  }

  // Whether the refill threads should start a build now (under bg_mu_).
  bool refill_needed() noexcept {
    if (m_.live_.load(std::memory_order_seq_cst) >= cfg_.max_instances) return false;
    if (fresh_) {
      return m_.fresh_spares() + static_cast<std::int64_t>(refill_building_) <
             static_cast<std::int64_t>(cfg_.warm_count);
    }
    if (debt_.load(std::memory_order_seq_cst) <= 0) return false;
    if (m_.live_.load(std::memory_order_seq_cst) >= cfg_.warm_count) {
      debt_.store(0, std::memory_order_relaxed);  // enough instances remain: nothing to replace
      return false;
    }
    return true;
  }

  // Linger, then park: after its last piece of work a refill thread keeps
  // looking for more for kRefillLinger, sleeping kRefillPoll between looks (a
  // timed wait on refill_cv_, never a spin), and only then parks on refill_cv_
  // until notified. Under steady demand (a Fresh hit per request) it never
  // parks, so acquirers never notify; an idle pool's threads are parked and
  // cost nothing. shutdown() wakes lingering and parked threads alike.
  // True when a build is needed; false when stopping or woken without work.
  bool wait_for_refill_work(std::unique_lock<std::mutex>& lk) {
    refill_lingering_.fetch_add(1, std::memory_order_relaxed);
    for (auto waited = std::chrono::microseconds{0};; waited += kRefillPoll) {
      if (stopping_ || refill_needed()) {
        refill_lingering_.fetch_sub(1, std::memory_order_relaxed);
        return !stopping_;
      }
      if (waited >= kRefillLinger) break;
      refill_cv_.wait_for(lk, kRefillPoll, [&] {
        return stopping_ || refill_nudged_.exchange(false, std::memory_order_relaxed);
      });
    }
    refill_lingering_.fetch_sub(1, std::memory_order_relaxed);
    refill_parked_.fetch_add(1, std::memory_order_seq_cst);
    heavy_fence(asym_);                 // pairs with the barrier in wake_refill()
    const bool need = refill_needed();  // after announcing: no wake-up is lost
    if (!need) refill_cv_.wait(lk, [&] { return stopping_ || refill_signal_; });
    refill_parked_.fetch_sub(1, std::memory_order_seq_cst);
    refill_signal_ = false;
    return need && !stopping_;
  }

  void refill_loop() {
    std::unique_lock lk(bg_mu_);
    auto backoff = std::chrono::milliseconds{0};
    while (!stopping_) {
      if (!wait_for_refill_work(lk) || !try_reserve()) continue;
      if (!fresh_) {  // never below 0: wake_refill() may have cancelled the debt meanwhile
        std::int64_t d = debt_.load(std::memory_order_relaxed);
        while (d > 0 && !debt_.compare_exchange_weak(d, d - 1, std::memory_order_relaxed)) {
        }
      }
      ++refill_building_;
      lk.unlock();
      bool ok = false;
      {
        Building b(*this);
        try {
          std::expected<T, E> r = timed_build();
          if (r) {
            place_idle(std::move(*r));
            ok = true;
          }
        } catch (...) {
          // Counted by timed_build; a throwing factory is retried like a failing one.
        }
        if (!ok) m_.live_.fetch_sub(1, std::memory_order_seq_cst);
      }
      lk.lock();
      --refill_building_;
      if (ok) {
        backoff = std::chrono::milliseconds{0};
        continue;
      }
      if (!fresh_) debt_.fetch_add(1, std::memory_order_relaxed);
      backoff =
          std::clamp(backoff * 2, std::chrono::milliseconds{1}, std::chrono::milliseconds{1000});
      refill_cv_.wait_for(lk, backoff, [&] { return stopping_; });
    }
  }

  void reaper_loop() {
    std::chrono::milliseconds shortest{1000};
    if (cfg_.idle_timeout.count() > 0) shortest = std::min(shortest, cfg_.idle_timeout);
    if (cfg_.max_lifetime.count() > 0) shortest = std::min(shortest, cfg_.max_lifetime);
    const auto period = std::max(std::chrono::milliseconds{1}, shortest / 4);
    std::unique_lock lk(bg_mu_);
    while (!stopping_) {
      reaper_cv_.wait_for(lk, period, [&] { return stopping_; });
      if (stopping_) break;
      lk.unlock();
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - epoch_);
      tick_.store(static_cast<std::uint64_t>(now.count()), std::memory_order_relaxed);
      reap(static_cast<std::uint64_t>(now.count()));
      lk.lock();
    }
  }

  void reap(std::uint64_t now) noexcept {
    const auto idle_ms = static_cast<std::uint64_t>(cfg_.idle_timeout.count());
    const auto life_ms = static_cast<std::uint64_t>(cfg_.max_lifetime.count());
    for_each_slot([&](Slot<T>& s) {
      StateWord st = s.state.load(std::memory_order_acquire);
      std::uint64_t born = s.born.load(std::memory_order_relaxed);
      const bool too_old = life_ms != 0 && now - (born & ~SlotBase::kPastLifetime) >= life_ms;
      if (state_of(st) == kLent || state_of(st) == kLeased) {
        // Its release retires it. A CAS, so an instance built in the slot
        // since `born` was read keeps its own (unless born in the same tick,
        // and so just as old).
        if (too_old && (born & SlotBase::kPastLifetime) == 0) {
          s.born.compare_exchange_strong(born, born | SlotBase::kPastLifetime,
                                         std::memory_order_relaxed);
        }
        return;
      }
      if (state_of(st) != kIdle) return;
      const bool too_idle = idle_ms != 0 &&
                            now - s.idle_since.load(std::memory_order_relaxed) >= idle_ms &&
                            (fresh_ ? m_.fresh_spares() > static_cast<std::int64_t>(cfg_.warm_count)
                                    : m_.live_.load(std::memory_order_seq_cst) > cfg_.warm_count);
      if (!too_old && !too_idle) return;
      if (!cas_slot(s, st, make_state(tag_of(st), kBusy), 0)) return;
      destroy_in_slot(s);
      m_.adjust_idle(-1);
      PoolMetrics::bump(m_.reaped_);
      if (too_old) debt_.fetch_add(1, std::memory_order_seq_cst);
      s.state.store(make_state(tag_of(st), kEmpty), std::memory_order_release);
      drop_capacity();
    });
  }

  // ------------------------------------------------------------------ state

  // Read on every call; written never after construction.
  const std::uint64_t id_;
  const std::uint64_t key_;         // ThreadEntry::key_of(id_, false)
  const std::size_t entry_offset_;  // of this pool's entry in thread_entries, in bytes
  const bool fresh_;
  // Reuse without health check or use/age limits: a release keeps the instance.
  const bool fast_release_;
  // Reuse without use/age limits, and no health check but an inline one.
  const bool plain_release_;
  const bool stamp_idle_;
  const bool history_limits_;
  const bool resets_;  // Recycle::Reset with a reset hook
  // max_uses, or kUnlimited when unset.
  static constexpr std::uint64_t kUnlimited = ~std::uint64_t{0};
  const std::uint64_t uses_cap_;
  // membarrier is registered: owner windows and after_idle() need only a
  // compiler barrier (asymmetric_fence.hpp); false under TSan.
  const bool asym_;
  // The entry key each inline hit path compares with: key_ (or key_ | 1 for
  // release) when the path serves this pool's configuration, else kNever, so
  // the configuration costs the hit paths no test of its own. acquire() and
  // lease() need a non-Fresh pool and membarrier (and nobody waiting, see
  // hit_key_); release() a release that keeps the instance unjudged and
  // unstamped; give_back() both.
  static constexpr std::uint64_t kNever = 1;  // no entry's key: pool ids start at 1
  const std::uint64_t plain_hit_key_;         // hit_key_ while nobody waits
  const std::uint64_t release_key_;
  const std::uint64_t give_back_key_;
  // release()'s inline judged path: Reuse and Reset pools with per-release work.
  const std::uint64_t judged_release_key_;
  // give_back()'s path when give_back_key_ does not match.
  const GiveBackHome give_back_home_;
  const PoolConfig cfg_;
  const std::shared_ptr<PoolMetrics> metrics_;
  PoolMetrics& m_;
  Factory factory_;
  [[no_unique_address]] const L lifecycle_;
  const std::size_t chunk_size_;
  const Clock::time_point epoch_;
  std::array<std::unique_ptr<Slot<T>[]>, kMaxChunks> chunks_;
  std::atomic<std::size_t> chunk_count_{0};

  // Whether a hit path must leave the inline path because of other threads:
  // the number of waiting acquirers, plus a constant bit when membarrier is
  // missing (every wake check then needs a full fence). Written only when a
  // waiter arrives or leaves, so the hit paths read a line that stays clean.
  static constexpr std::uint64_t kGateSymmetric = 1;
  static constexpr std::uint64_t kGateWaiter = 2;  // added per waiting acquirer
  alignas(kNoFalseSharing) std::atomic<std::uint64_t> gate_;
  // What acquire() and lease() compare entries with: plain_hit_key_, or
  // kNever while acquirers wait (so hits do not overtake the FIFO queue).
  // Changed under wait_mu_; read relaxed, like the old waiters check, as a
  // fairness hint (a wake-up is never lost: see after_idle()).
  std::atomic<std::uint64_t> hit_key_;
  // Written by the reaper once per period; read when stamping on release.
  alignas(kNoFalseSharing) std::atomic<std::uint64_t> tick_{0};

  alignas(kNoFalseSharing) std::mutex wait_mu_;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;

  std::mutex chunk_mu_;
  mutable std::mutex error_mu_;
  std::optional<E> last_error_;

  std::mutex bg_mu_;
  std::condition_variable refill_cv_;
  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  bool refill_signal_ = false;
  std::size_t refill_building_ = 0;
  // Refill threads parked (not lingering). Read by every wake_refill(), so
  // alone on its line: bg_mu_ is taken by lingering refill threads each poll.
  alignas(kNoFalseSharing) std::atomic<std::uint32_t> refill_parked_{0};
  // Refill threads lingering, and a release's request that one start now
  // (nudge_lingering_refill). Written only by refill threads and Fresh
  // releases, so off the Fresh hit's lines.
  alignas(kNoFalseSharing) std::atomic<std::uint32_t> refill_lingering_{0};
  std::atomic<bool> refill_nudged_{false};
  static constexpr std::chrono::microseconds kRefillLinger{2000};
  static constexpr std::chrono::microseconds kRefillPoll{100};
  // Instances the pool destroyed that refill may need to replace (Reuse/Reset).
  alignas(kNoFalseSharing) std::atomic<std::int64_t> debt_{0};
  // Fresh: the slot the last release emptied, where refill builds next.
  alignas(kNoFalseSharing) std::atomic<Slot<T>*> refill_hint_{nullptr};
  std::vector<std::thread> threads_;

  std::atomic<std::uint64_t> orphans_{0};
  std::shared_ptr<PoolCore> self_;
};

}  // namespace warmpool::internal
