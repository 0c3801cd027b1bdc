// warmpool/extism/pool.hpp — a pool checkout of an Extism plugin held on the
// thread that took it, the Extism form of warmpool::wasm::checkout_bound.
//
// For servers whose worker threads each run a checkout's calls: on V8 they
// then skip entering the plugin's isolate afresh (Plugin::ThreadBinding). The
// checkout must be released on the thread that took it (released on another,
// the process stops with a message); its binding ends before the plugin goes
// back, so recycling (PluginLifecycle) is the same as for pool->checkout().
//
//   using Pool = warmpool::InstancePool<ex::Plugin, ex::Error, ex::PluginLifecycle>;
//   auto held = warmpool::extism::checkout_bound(*pool);   // std::expected
//   for (auto& input : inputs) held->call("count_vowels", input);
#pragma once

#include <expected>
#include <utility>

#include "warmpool/extism/error.hpp"
#include "warmpool/extism/plugin.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism {

// A pool checkout bound to the thread that took it (checkout_bound).
template <class L>
class BoundCheckout {
 public:
  Plugin& get() const noexcept { return checkout_.get(); }
  Plugin& operator*() const noexcept { return get(); }
  Plugin* operator->() const noexcept { return &get(); }

 private:
  template <class M>
  friend std::expected<BoundCheckout<M>, Error> checkout_bound(
      InstancePool<Plugin, Error, M>& pool);
  BoundCheckout(PooledInstance<Plugin, Error, L> checkout, Plugin::ThreadBinding binding)
      : checkout_(std::move(checkout)), binding_(std::move(binding)) {}

  // Declared first, destroyed last: the binding ends before the plugin goes back.
  PooledInstance<Plugin, Error, L> checkout_;
  Plugin::ThreadBinding binding_;
};

// A checkout whose plugin is bound to the calling thread until the checkout
// ends; the pool's error, or the binding's (a plugin given back while still
// bound to another thread; it goes back again).
template <class L>
std::expected<BoundCheckout<L>, Error> checkout_bound(InstancePool<Plugin, Error, L>& pool) {
  auto checkout = pool.checkout();
  if (!checkout) return std::unexpected(std::move(checkout.error()));
  auto binding = checkout->get().bind_to_this_thread();
  if (!binding) return std::unexpected(std::move(binding.error()));
  return BoundCheckout<L>(std::move(*checkout), std::move(*binding));
}

}  // namespace warmpool::extism
