// warmpool/internal/pool_core_acquire.hpp — implementation detail of
// InstancePool, included by pool_core.hpp: the acquire paths the inline hit
// does not serve, and how the pool gets new instances.
//
// Design: a thread without a usable home slot registers in the pool (a slot
// of the first chunk to start from, a metric shard of its own, an owner tag).
// A miss of the home slot scans the slot array for an Idle slot (the claimer
// becomes the slot's owner, so ownership follows use); failing that, it
// reserves capacity with a CAS on `live` (which therefore never exceeds
// max_instances) and builds on the calling thread, outside any lock, counted
// in `building` for its whole extent so a waiter woken by its end finds the
// instance. At capacity it fails at once, or joins the FIFO queue
// (waiters.hpp) when acquire_timeout is set or a build is in flight. While
// anybody waits, hits queue up behind the waiters instead of barging. Refill
// threads (background.hpp) ask this part what to build: under Fresh, spares
// up to warm_count, counted from the hits each thread publishes
// (PoolMetrics::fresh_spares), never by reading slots, so a refill thread on
// another CPU touches no line the next Fresh hit reads; under Reuse and
// Reset, replacements for instances the pool destroyed (`debt`) while fewer
// than warm_count exist. A Fresh spare is built into the slot the last
// release emptied (the refill hint), the requester's next home.
//
// Trade-off: a miss builds on the caller's thread, so its latency is the
// factory's (refill keeps builds off the acquire path only up to warm_count
// spares or replacements); and reserving before building keeps the cap exact,
// so capacity held by a build that is about to fail is unavailable to others
// until it fails (they wait for it rather than fail, see would_wait()).
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <expected>
#include <mutex>
#include <optional>
#include <string>

namespace warmpool::internal {

// Counts a build in flight for its whole extent, including handing the
// result over, so a waiter woken by its end finds the instance.
template <class T, class E, class L>
class PoolCore<T, E, L>::Building {
 public:
  explicit Building(PoolCore& core) noexcept : core_(core) {
    core_.m_.building_.fetch_add(1, std::memory_order_seq_cst);
  }
  Building(const Building&) = delete;
  Building& operator=(const Building&) = delete;
  ~Building() {
    core_.m_.building_.fetch_sub(1, std::memory_order_seq_cst);
    core_.waiters_.notify_if_any();
  }

 private:
  PoolCore& core_;
};

// ------------------------------------------------------------ start, warm-up

template <class T, class E, class L>
std::optional<E> PoolCore<T, E, L>::warm_up() {
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

template <class T, class E, class L>
void PoolCore<T, E, L>::start_threads() {
  std::chrono::milliseconds reap_every{0};
  if (cfg_.idle_timeout.count() > 0 || cfg_.max_lifetime.count() > 0) {
    std::chrono::milliseconds shortest{1000};
    if (cfg_.idle_timeout.count() > 0) shortest = std::min(shortest, cfg_.idle_timeout);
    if (cfg_.max_lifetime.count() > 0) shortest = std::min(shortest, cfg_.max_lifetime);
    reap_every = std::max(std::chrono::milliseconds{1}, shortest / 4);
  }
  background_.start(cfg_.refill_threads, reap_every);
}

// One build into the idle set; its error, if any (capacity already reserved).
template <class T, class E, class L>
std::optional<E> PoolCore<T, E, L>::build_and_place() {
  std::expected<T, E> r = timed_build();
  if (r.has_value()) {
    place_idle(std::move(r.value()));
    return std::nullopt;
  }
  return std::optional<E>(std::move(r).error());
}

// ------------------------------------------------------------- thread cache

template <class T, class E, class L>
ThreadEntry& PoolCore<T, E, L>::entry(ThreadEntry& stand_in) {
  ThreadEntry& e = thread_entry_at(entry_offset_);
  if (e.pool_id() == id_) [[likely]]
    return e;
  return register_thread(stand_in);
}

template <class T, class E, class L>
ThreadEntry& PoolCore<T, E, L>::register_thread(ThreadEntry& stand_in) {
  if (thread_cache_state == ThreadCacheState::gone) {
    stand_in = ThreadEntry{key_, &m_.fallback_, &slots_.first(0), 0};
    return stand_in;
  }
  ThreadKeepalive& keep = thread_keepalive;  // first use constructs it
  const std::size_t i = id_ % kThreadCacheSize;
  ThreadEntry& e = thread_entries[i];
  release_thread_entry(e);
  keep.pools[i] = this->shared_from_this();
  e.key = key_;
  e.shard = m_.claim_shard();
  e.slot = &slots_.first(thread_ordinal % cfg_.max_instances);
  e.tag = thread_ordinal + 1;
  return e;
}

// `s` becomes the thread's home (it holds `s` with its tag in the word); the
// previous home, if different, is given up.
template <class T, class E, class L>
void PoolCore<T, E, L>::move_home(ThreadEntry& e, Slot<T>* s) noexcept {
  if (e.slot != s) disown(*e.slot, e.tag);
  e.slot = s;
}

// Makes `s` (just moved to Lent by this thread) the thread's lent slot.
template <class T, class E, class L>
void PoolCore<T, E, L>::adopt_lent(ThreadEntry& e, Slot<T>& s) noexcept {
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
template <class T, class E, class L>
void PoolCore<T, E, L>::adopt_leased(ThreadEntry& e, Slot<T>* s) noexcept {
  if (e.registered() && !e.lent()) move_home(e, s);
}

// A Fresh spare was handed out: refill builds a replacement now, so spares
// stay at warm_count while instances are held. The hit is published for
// refill's count (PoolMetrics::fresh_spares); a lingering refill thread
// notices by itself, and only a parked one (the pool was idle for a while)
// costs this thread a notification.
template <class T, class E, class L>
void PoolCore<T, E, L>::fresh_hit(ThreadEntry& e) noexcept {
  e.shard->publish_hits();
  background_.wake();
}

// ---------------------------------------------------------- acquire, lease

template <class T, class E, class L>
std::expected<T, E> PoolCore<T, E, L>::acquire_slow() {
  ThreadEntry local;
  ThreadEntry& e = entry(local);
  // The home-slot hit for pools the inline path does not serve (Fresh, no
  // membarrier); not while others wait, so they are served first.
  if (e.key == key_ && e.registered() && waiters_.waiting() == 0) {
    auto& home = *static_cast<Slot<T>*>(e.slot);
    if (take_home(home, e.shard->busy, kLent, asym_)) {
      e.set_lent(true);
      e.shard->hit_owned();
      if (plan_.fresh) fresh_hit(e);
      return take_lent(home);
    }
  }
  const bool may_barge = waiters_.waiting() == 0 || !would_wait();
  if (may_barge) {
    if (Slot<T>* s = slots_.claim_idle(kLent, e)) {
      e.shard->hit();
      if (plan_.fresh) fresh_hit(e);
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

template <class T, class E, class L>
std::expected<Slot<T>*, E> PoolCore<T, E, L>::lease_slow() {
  ThreadEntry local;
  ThreadEntry& e = entry(local);
  if (e.key == key_ && e.registered() && waiters_.waiting() == 0) {  // as in acquire_slow()
    auto* home = static_cast<Slot<T>*>(e.slot);
    if (take_home(*home, e.shard->busy, kLeased, asym_)) {
      e.shard->hit_owned();
      if (plan_.fresh) fresh_hit(e);
      return home;
    }
  }
  const bool may_barge = waiters_.waiting() == 0 || !would_wait();
  if (may_barge) {
    if (Slot<T>* s = slots_.claim_idle(kLeased, e)) {
      e.shard->hit();
      if (plan_.fresh) fresh_hit(e);
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

template <class T, class E, class L>
bool PoolCore<T, E, L>::would_wait() const noexcept {
  return cfg_.acquire_timeout.count() > 0 || m_.building_.load(std::memory_order_seq_cst) > 0;
}

// The message accounts for all reserved capacity. What is neither in use, idle
// nor being built is an instance being destroyed (its release, the reaper) or
// capacity reserved for a build that has not started yet (a refill, another
// caller's miss); without that part, a one-instance pool between uses read
// "0 in use, 0 being built". The counters are read one by one, so under
// concurrent change the parts may not add up exactly.
template <class T, class E, class L>
E PoolCore<T, E, L>::exhausted_now() {
  PoolMetrics::bump(m_.exhausted_);
  const std::uint64_t in_use = m_.in_use();
  const std::uint64_t idle = m_.idle();
  const std::uint64_t building = m_.building();
  const std::uint64_t accounted = in_use + idle + building;
  const std::uint64_t live = m_.live();
  const std::uint64_t between_uses = live > accounted ? live - accounted : 0;
  return E(E::resource_limit(
      "instance pool at capacity: max_instances=" + std::to_string(cfg_.max_instances) +
      " reached (" + std::to_string(in_use) + " in use, " + std::to_string(idle) + " idle, " +
      std::to_string(building) + " being built, " + std::to_string(between_uses) +
      " being destroyed or about to be built)"));
}

// FIFO wait. Returns the claimed slot (in state `to`), or nullptr when
// capacity was reserved for the caller to build.
template <class T, class E, class L>
std::expected<Slot<T>*, E> PoolCore<T, E, L>::wait_for_instance(ThreadEntry& e, SlotState to) {
  PoolMetrics::bump(m_.waits_);
  const auto t0 = Clock::now();
  const bool timed = cfg_.acquire_timeout.count() > 0;
  const auto deadline = timed ? t0 + cfg_.acquire_timeout : Clock::time_point::max();
  bool claimed = false;
  std::optional<std::expected<Slot<T>*, E>> got =
      waiters_.wait_in_line(deadline, [&]() -> std::optional<std::expected<Slot<T>*, E>> {
        if (Slot<T>* s = slots_.claim_idle(to, e)) {
          claimed = true;
          return s;
        }
        if (try_reserve()) return nullptr;
        if (!timed && m_.building_.load(std::memory_order_seq_cst) == 0) {
          return std::unexpected(exhausted_now());
        }
        return std::nullopt;
      });
  m_.acquire_wait_.record(Clock::now() - t0);
  if (got) {
    if (claimed) {
      e.shard->hit();
      if (plan_.fresh) fresh_hit(e);
    }
    return std::move(*got);
  }
  PoolMetrics::bump(m_.wait_timeouts_);
  PoolMetrics::bump(m_.exhausted_);
  return std::unexpected(E::resource_limit(
      "instance pool at capacity: no instance became available within acquire_timeout=" +
      std::to_string(cfg_.acquire_timeout.count()) +
      " ms (max_instances=" + std::to_string(cfg_.max_instances) + ")"));
}

// ------------------------------------------------------------------- misses

// The instance a caller builds itself after reserving capacity.
template <class T, class E, class L>
std::expected<T, E> PoolCore<T, E, L>::build_for_caller(ThreadEntry& e) {
  PoolMetrics::bump(m_.misses_);
  Slot<T>* s = slots_.claim_empty();
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
  s->born.store(background_.tick(), std::memory_order_relaxed);
  own(s, e, claim_tag(e, kLent));
  s->state.store(make_state(claim_tag(e, kLent), kLent), std::memory_order_release);
  adopt_lent(e, *s);
  return r;
}

template <class T, class E, class L>
std::expected<Slot<T>*, E> PoolCore<T, E, L>::build_leased(ThreadEntry& e) {
  PoolMetrics::bump(m_.misses_);
  Slot<T>* s = slots_.claim_empty();
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
  s->born.store(background_.tick(), std::memory_order_relaxed);
  own(s, e, claim_tag(e, kLeased));
  s->state.store(make_state(claim_tag(e, kLeased), kLeased), std::memory_order_release);
  adopt_leased(e, s);
  return s;
}

// Runs the factory for a reserved, claimed (Busy) slot; on error or exception
// gives slot and capacity back (and rethrows the exception).
template <class T, class E, class L>
std::expected<T, E> PoolCore<T, E, L>::build_or_unwind(Slot<T>* s) {
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
template <class T, class E, class L>
std::expected<T, E> PoolCore<T, E, L>::timed_build() {
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

// A built instance (capacity reserved) into an Empty slot as Idle, preferring
// the refill hint, then homes.
template <class T, class E, class L>
void PoolCore<T, E, L>::place_idle(T&& t) {
  Slot<T>* s = claim_hinted();
  if (s == nullptr) s = slots_.claim_empty(true);
  if (s == nullptr) {
    destroy_instance(t);
    m_.live_.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  s->emplace(std::move(t));
  s->uses = 0;
  s->born.store(background_.tick(), std::memory_order_relaxed);
  s->idle_since.store(background_.tick(), std::memory_order_relaxed);
  m_.adjust_idle(1);
  const StateWord st = s->state.load(std::memory_order_relaxed);  // Busy: ours
  s->state.store(make_state(tag_of(st), kIdle), std::memory_order_seq_cst);
  waiters_.notify_if_any();
}

// The slot a Fresh release last emptied, if still Empty: refill builds there
// without scanning, since a scan reads other threads' home slots
// (rehome_after_fresh_release).
template <class T, class E, class L>
Slot<T>* PoolCore<T, E, L>::claim_hinted() noexcept {
  if (!plan_.fresh) return nullptr;
  Slot<T>* s = refill_hint_.exchange(nullptr, std::memory_order_acquire);
  return s != nullptr && SlotArray<T>::claim_if_empty(*s) ? s : nullptr;
}

// ----------------------------------------------------------------- capacity

template <class T, class E, class L>
bool PoolCore<T, E, L>::try_reserve() noexcept {
  std::uint64_t cur = m_.live_.load(std::memory_order_relaxed);
  while (cur < cfg_.max_instances) {
    if (m_.live_.compare_exchange_weak(cur, cur + 1, std::memory_order_seq_cst)) return true;
  }
  return false;
}

template <class T, class E, class L>
void PoolCore<T, E, L>::unreserve() noexcept {
  m_.live_.fetch_sub(1, std::memory_order_seq_cst);
  waiters_.notify_if_any();
  background_.wake();
}

// -------------------------------------------------- refill's work (background.hpp)

// Whether a parked refill thread has work (asked by a wake-up, outside the
// background lock; cancels a debt that enough instances make moot).
template <class T, class E, class L>
bool PoolCore<T, E, L>::refill_wanted() noexcept {
  const std::uint64_t live = m_.live_.load(std::memory_order_seq_cst);
  if (live >= cfg_.max_instances) return false;
  if (plan_.fresh) return m_.fresh_spares() < static_cast<std::int64_t>(cfg_.warm_count);
  if (debt_.load(std::memory_order_seq_cst) <= 0) return false;
  if (live >= cfg_.warm_count) {
    debt_.store(0, std::memory_order_seq_cst);  // enough instances remain: nothing to replace
    return false;
  }
  return true;
}

// Whether the refill threads should start a build now, with `building` of
// theirs in flight (under the background lock).
template <class T, class E, class L>
bool PoolCore<T, E, L>::refill_needed(std::size_t building) noexcept {
  if (m_.live_.load(std::memory_order_seq_cst) >= cfg_.max_instances) return false;
  if (plan_.fresh) {
    return m_.fresh_spares() + static_cast<std::int64_t>(building) <
           static_cast<std::int64_t>(cfg_.warm_count);
  }
  if (debt_.load(std::memory_order_seq_cst) <= 0) return false;
  if (m_.live_.load(std::memory_order_seq_cst) >= cfg_.warm_count) {
    debt_.store(0, std::memory_order_relaxed);  // enough instances remain: nothing to replace
    return false;
  }
  return true;
}

template <class T, class E, class L>
bool PoolCore<T, E, L>::reserve_refill() noexcept {
  if (!try_reserve()) return false;
  if (!plan_.fresh) {  // never below 0: refill_wanted() may have cancelled the debt meanwhile
    std::int64_t d = debt_.load(std::memory_order_relaxed);
    while (d > 0 && !debt_.compare_exchange_weak(d, d - 1, std::memory_order_relaxed)) {
    }
  }
  return true;
}

template <class T, class E, class L>
bool PoolCore<T, E, L>::build_spare() {
  bool ok = false;
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
  return ok;
}

template <class T, class E, class L>
void PoolCore<T, E, L>::refill_failed() noexcept {
  if (!plan_.fresh) debt_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace warmpool::internal
