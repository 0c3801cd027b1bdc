// warmpool/pooled_instance.hpp — an instance checked out of an InstancePool,
// returned automatically when the handle goes out of scope.
//
// The instance stays where the pool keeps it (no move on checkout or return,
// which matters for instances that are expensive to move). The handle may
// outlive its pool: returning into a destroyed pool destroys the instance.
//
//   auto inst = pool.checkout();
//   if (!inst) return inst.error();
//   auto r = (*inst)->call("fib", args);
//   if (!r && r.error().poisons_instance()) inst->discard();   // never reused
//   // otherwise returned to the pool here
#pragma once

#include <cassert>
#include <utility>

#include "warmpool/internal/pool_core.hpp"
#include "warmpool/lifecycle.hpp"
#include "warmpool/pool_resource_limit.hpp"

namespace warmpool {

template <class T, PoolResourceLimit E, PoolLifecycle<T> L>
class InstancePool;

// L: the pool's lifecycle (see lifecycle.hpp); InstancePool<T, E, L>::checkout()
// hands out PooledInstance<T, E, L>.
template <class T, PoolResourceLimit E, PoolLifecycle<T> L = Lifecycle<T>>
class PooledInstance {
 public:
  PooledInstance(PooledInstance&& other) noexcept
      : core_(std::exchange(other.core_, nullptr)), slot_(std::exchange(other.slot_, nullptr)) {}
  PooledInstance& operator=(PooledInstance&& other) noexcept {
    if (this != &other) {
      reset();
      core_ = std::exchange(other.core_, nullptr);
      slot_ = std::exchange(other.slot_, nullptr);
    }
    return *this;
  }
  PooledInstance(const PooledInstance&) = delete;
  PooledInstance& operator=(const PooledInstance&) = delete;
  [[gnu::always_inline]] ~PooledInstance() { reset(); }

  // False once the instance was returned, taken or discarded.
  explicit operator bool() const noexcept { return slot_ != nullptr; }

  T& get() const noexcept {
    assert(slot_ != nullptr);
    return *slot_->get();
  }
  T& operator*() const noexcept { return get(); }
  T* operator->() const noexcept { return &get(); }

  // Detaches the instance: it and its slot leave the pool for good (the
  // pool's live count drops; refill does not replace it).
  T take() noexcept {
    assert(slot_ != nullptr);
    T t = core_->take_leased(slot_);
    core_ = nullptr;
    slot_ = nullptr;
    return t;
  }

  // Destroys the instance now; it is never handed out again (for an instance
  // known to be broken). Refill may build a replacement.
  void discard() noexcept {
    if (slot_ == nullptr) return;
    core_->discard_leased(slot_);
    core_ = nullptr;
    slot_ = nullptr;
  }

 private:
  friend class InstancePool<T, E, L>;
  using Core = internal::PoolCore<T, E, L>;

  PooledInstance(Core* core, internal::Slot<T>* slot) noexcept : core_(core), slot_(slot) {}

  [[gnu::always_inline]] void reset() noexcept {
    if (slot_ != nullptr) core_->give_back(slot_);
    core_ = nullptr;
    slot_ = nullptr;
  }

  Core* core_;
  internal::Slot<T>* slot_;
};

}  // namespace warmpool
