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


#include "warmpool/bound_checkout.hpp"
#include "warmpool/extism/error.hpp"
#include "warmpool/extism/plugin.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism {

// A pool checkout bound to the thread that took it (warmpool/bound_checkout.hpp).
template <class L>
using BoundCheckout = warmpool::BoundCheckout<Plugin, Error, L>;
using warmpool::checkout_bound;

}  // namespace warmpool::extism
