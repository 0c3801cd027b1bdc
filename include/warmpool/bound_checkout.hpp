// warmpool/bound_checkout.hpp — a pool checkout held on the thread that took it.
//
// For instance types that can be tied to one thread for a span of uses (their
// `bind_to_this_thread()` returns an RAII binding in a std::expected), such as
// warmpool::wasm::Instance and warmpool::extism::Plugin, whose V8 engine then
// keeps its isolate lock between calls. The binding lives exactly as long as
// the checkout and ends before the instance goes back to the pool, so the
// pool's recycling (reset, health check) runs unbound, as for a plain
// checkout. The checkout must end on the thread that took it; what happens
// otherwise is the instance type's to say (both above stop the process with a
// message: an engine lock cannot be released by another thread).
//
//   auto held = warmpool::checkout_bound(*pool);   // std::expected
//   if (!held) return held.error();
//   for (auto& request : batch) (*held)->call("handle", request);
#pragma once

#include <concepts>
#include <expected>
#include <utility>

#include "warmpool/instance_pool.hpp"
#include "warmpool/pooled_instance.hpp"

namespace warmpool {

// An instance type with a thread binding whose failure converts to the pool's error type.
template <class T, class E>
concept ThreadBindable = requires(T& instance) {
  typename T::ThreadBinding;
  { *instance.bind_to_this_thread() } -> std::convertible_to<typename T::ThreadBinding>;
  E(std::move(instance.bind_to_this_thread().error()));
};

template <class T, class E, class L>
requires ThreadBindable<T, E>
class BoundCheckout {
 public:
  T& get() const noexcept { return checkout_.get(); }
  T& operator*() const noexcept { return get(); }
  T* operator->() const noexcept { return &get(); }

 private:
  template <class U, class F, class M>
  requires ThreadBindable<U, F>
  friend std::expected<BoundCheckout<U, F, M>, F> checkout_bound(InstancePool<U, F, M>& pool);
  BoundCheckout(PooledInstance<T, E, L> checkout, typename T::ThreadBinding binding)
      : checkout_(std::move(checkout)), binding_(std::move(binding)) {}

  // Declared first, destroyed last: the binding ends before the instance goes back.
  PooledInstance<T, E, L> checkout_;
  typename T::ThreadBinding binding_;
};

// A checkout whose instance is bound to the calling thread until the checkout
// ends; the pool's error, or the binding's (for example an instance given back
// while still bound to another thread; it goes back again).
template <class T, class E, class L>
requires ThreadBindable<T, E> std::expected<BoundCheckout<T, E, L>, E> checkout_bound(
    InstancePool<T, E, L>& pool) {
  auto checkout = pool.checkout();
  if (!checkout) return std::unexpected(std::move(checkout.error()));
  auto binding = checkout->get().bind_to_this_thread();
  if (!binding) return std::unexpected(E(std::move(binding.error())));
  return BoundCheckout<T, E, L>(std::move(*checkout), std::move(*binding));
}

}  // namespace warmpool
