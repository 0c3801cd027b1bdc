// warmpool/internal/pool_core_return.hpp — implementation detail of
// InstancePool, included by pool_core.hpp: the returns the inline paths do not
// serve, destruction, handles that outlive the pool, reaping and shutdown.
//
// Design: an instance comes back either to the slot its thread holds Lent
// (release() on the thread that acquired it), or to a Leased slot (a handle),
// or from nowhere the pool knows (another thread's acquire, a taken instance).
// The first two keep their slot's history (use count, birth tick), so use and
// age limits are exact for them; an instance from nowhere gets a fresh Empty
// slot and, when either limit is set, is destroyed rather than risk exceeding
// it, and when nothing is in use it needs capacity of its own. A handle
// leaves its Leased slot with a CAS that keeps the owner tag; the only other
// writer of a Leased slot is shutdown, which turns it Orphaned, and then the
// handle destroys the instance itself and drops the last reference that keeps
// the core alive. Every destruction gives its capacity back and, when the pool
// destroyed an instance it would have kept (broken, expired, reaped for age),
// records a debt that refill pays back while fewer than warm_count exist.
// Under Fresh, the release that destroys an instance makes a spare built
// earlier its home (its line crosses cores during the release, not the next
// acquire) and leaves the emptied slot to refill as the refill hint.
//
// Trade-off: an instance released by another thread than the one that
// acquired it has no known history, so with max_uses or max_lifetime set it is
// destroyed, not reused; and a shutdown waits (yielding) for handles that are
// returning at that moment.
#pragma once

#include <memory>
#include <optional>
#include <thread>
#include <utility>

namespace warmpool::internal {

// release() into this thread's Lent slot of an instance the pool will not keep.
template <class T, class E, class L>
void PoolCore<T, E, L>::drop_lent(ThreadEntry& e, T&& t, Verdict v) noexcept {
  e.key = key_;
  e.slot->state.store(thread_owner_bits | kEmpty, std::memory_order_release);
  destroy_released(std::move(t), v);
}

// release() of an instance this thread does not hold Lent.
template <class T, class E, class L>
void PoolCore<T, E, L>::release_slow(T t) {
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
  // Without a Lent slot the pool cannot tell this instance's history; with use
  // or age limits configured it is not reused, so the limits always hold.
  Verdict v = plan_.history_limits ? Verdict::expired : Verdict::keep;
  if (v == Verdict::keep && !plan_.keeps_unjudged) v = judge(t, *e.slot, false);
  // An instance released while nothing is in use did not come from our in-use
  // set (taken, or from elsewhere): it needs capacity of its own.
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
  Slot<T>* s = slots_.claim_empty();
  if (s == nullptr) {
    destroy_released(std::move(t), Verdict::expired);
    return;
  }
  s->emplace(std::move(t));
  s->uses = 0;
  s->born.store(background_.tick(), std::memory_order_relaxed);
  s->idle_since.store(background_.tick(), std::memory_order_relaxed);
  e.shard->returned();
  // Becomes this thread's home unless it holds its home Lent.
  const bool home = e.registered() && !e.lent();
  if (home) {
    move_home(e, s);
    own(s, e, e.tag);
  }
  s->state.store(make_state(home ? e.tag : 0, kIdle), std::memory_order_release);
  waiters_.after_idle(*s);
}

// A handle's return that the fast path could not do: another thread's handle,
// a verdict other than keep (`judged`; nullopt: not judged yet), or a slot
// orphaned by shutdown.
template <class T, class E, class L>
void PoolCore<T, E, L>::give_back_slow(Slot<T>* s, std::optional<Verdict> judged) noexcept {
  ThreadEntry local;
  ThreadEntry& e = entry(local);  // also keeps this core alive until we are done
  std::shared_ptr<PoolCore> hold = e.registered() ? nullptr : this->weak_from_this().lock();
  const Verdict v =
      judged ? *judged : (plan_.keeps_unjudged ? Verdict::keep : judge(*s->get(), *s, true));
  StateWord st = s->state.load(std::memory_order_acquire);
  if (v == Verdict::keep) {
    stamp_idle(*s);
    if (leave_leased(s, st, kIdle)) {
      e.shard->returned();
      waiters_.after_idle(*s);
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

template <class T, class E, class L>
T PoolCore<T, E, L>::take_leased(Slot<T>* s) noexcept {
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

template <class T, class E, class L>
void PoolCore<T, E, L>::discard_leased(Slot<T>* s) noexcept {
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

// The handle holder moves its Leased slot to `to`, keeping the owner tag
// (retrying if the owner drops it meanwhile); false if shutdown orphaned it.
// No handshake: the owner writes a Leased slot only when it is the holder.
template <class T, class E, class L>
bool PoolCore<T, E, L>::leave_leased(Slot<T>* s, StateWord& st, SlotState to) noexcept {
  for (;;) {
    if (state_of(st) != kLeased) return false;
    if (s->state.compare_exchange_weak(st, make_state(tag_of(st), to), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      return true;
    }
  }
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
template <class T, class E, class L>
void PoolCore<T, E, L>::rehome_after_fresh_release(ThreadEntry& e, Slot<T>* freed) noexcept {
  if (e.registered() && !e.lent() && e.slot == freed) {
    if (Slot<T>* spare = slots_.tag_unowned_idle(e.tag)) {
      own(spare, e, e.tag);
      move_home(e, spare);
    }
  }
  refill_hint_.store(freed, std::memory_order_release);
}

// ------------------------------------------------------------- destruction

// An in-use instance the pool will not keep.
// No longer in use while it is destroyed (which may take long: an engine's
// teardown), so an exhausted acquire meanwhile names it as being destroyed.
template <class T, class E, class L>
void PoolCore<T, E, L>::destroy_released(T&& t, Verdict v) noexcept {
  m_.adjust_in_use(-1);
  {
    T doomed = std::move(t);
    destroy_instance(doomed);
  }
  if (v == Verdict::broken) PoolMetrics::bump(m_.discarded_);
  if (v == Verdict::broken || v == Verdict::expired) {
    debt_.fetch_add(1, std::memory_order_seq_cst);
  }
  drop_capacity();
}

// Runs on_destroy; the caller destroys the object itself.
template <class T, class E, class L>
void PoolCore<T, E, L>::destroy_instance(T& t) noexcept {
  Hooks::on_destroy(lifecycle_, t);
  PoolMetrics::bump(m_.destroyed_);
}

template <class T, class E, class L>
void PoolCore<T, E, L>::destroy_in_slot(Slot<T>& s) noexcept {
  destroy_instance(*s.get());
  s.destroy();
}

// Capacity freed by a destruction or a take(): refill and waiters may use it.
template <class T, class E, class L>
void PoolCore<T, E, L>::drop_capacity() noexcept {
  m_.live_.fetch_sub(1, std::memory_order_seq_cst);
  if (plan_.fresh) background_.nudge_lingering();
  background_.wake();
  waiters_.notify_if_any();
}

template <class T, class E, class L>
void PoolCore<T, E, L>::finish_orphan(Slot<T>* s, bool taken) noexcept {
  if (!taken) destroy_in_slot(*s);
  m_.adjust_in_use(-1);
  m_.live_.fetch_sub(1, std::memory_order_relaxed);
  release_orphan_ref();
}

template <class T, class E, class L>
void PoolCore<T, E, L>::release_orphan_ref() noexcept {
  if (orphans_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::shared_ptr<PoolCore> last = std::move(self_);
  }
}

// ------------------------------------------------------------ reap, shutdown

// The reaper's pass (background.hpp), at `now` ms since the pool started.
template <class T, class E, class L>
void PoolCore<T, E, L>::reap(std::uint64_t now) noexcept {
  const auto idle_ms = static_cast<std::uint64_t>(cfg_.idle_timeout.count());
  const auto life_ms = static_cast<std::uint64_t>(cfg_.max_lifetime.count());
  slots_.for_each([&](Slot<T>& s) {
    StateWord st = s.state.load(std::memory_order_acquire);
    std::uint64_t born = s.born.load(std::memory_order_relaxed);
    const bool too_old = life_ms != 0 && now - (born & ~SlotBase::kPastLifetime) >= life_ms;
    if (state_of(st) == kLent || state_of(st) == kLeased) {
      // Its release retires it. A CAS, so an instance built in the slot since
      // `born` was read keeps its own (unless born in the same tick, and so
      // just as old).
      if (too_old && (born & SlotBase::kPastLifetime) == 0) {
        s.born.compare_exchange_strong(born, born | SlotBase::kPastLifetime,
                                       std::memory_order_relaxed);
      }
      return;
    }
    if (state_of(st) != kIdle) return;
    const bool too_idle =
        idle_ms != 0 && now - s.idle_since.load(std::memory_order_relaxed) >= idle_ms &&
        (plan_.fresh ? m_.fresh_spares() > static_cast<std::int64_t>(cfg_.warm_count)
                     : m_.live_.load(std::memory_order_seq_cst) > cfg_.warm_count);
    if (!too_old && !too_idle) return;
    if (!slots_.cas(s, st, make_state(tag_of(st), kBusy), 0)) return;
    m_.adjust_idle(-1);  // as in destroy_released: not idle while being destroyed
    destroy_in_slot(s);
    PoolMetrics::bump(m_.reaped_);
    if (too_old) debt_.fetch_add(1, std::memory_order_seq_cst);
    s.state.store(make_state(tag_of(st), kEmpty), std::memory_order_release);
    drop_capacity();
  });
}

template <class T, class E, class L>
void PoolCore<T, E, L>::shutdown() noexcept {
  background_.stop();
  self_ = this->shared_from_this();
  orphans_.store(1, std::memory_order_relaxed);
  slots_.for_each([&](Slot<T>& s) {
    for (;;) {
      StateWord st = s.state.load(std::memory_order_acquire);
      if (state_of(st) == kIdle) {
        if (!slots_.cas(s, st, make_state(0, kBusy), 0)) continue;
        destroy_in_slot(s);
        m_.adjust_idle(-1);
        drop_capacity();
        s.state.store(make_state(0, kEmpty), std::memory_order_release);
        return;
      }
      if (state_of(st) == kLeased) {
        orphans_.fetch_add(1, std::memory_order_relaxed);
        if (slots_.cas(s, st, make_state(0, kOrphaned), 0)) return;
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

}  // namespace warmpool::internal
