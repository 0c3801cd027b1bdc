// warmpool/lifecycle.hpp — what a pool does with an instance between uses.
//
// A lifecycle is the small, engine-specific half of pooling (deadpool's
// "manager"): how to put an instance back into its just-created state, how to
// tell that it is broken, and what to do just before it is destroyed. The pool
// itself knows nothing about WebAssembly; each loader ships a ready-made
// lifecycle (see warmpool/wasm/).
//
// It comes in two forms, and a pool takes either as its third template
// argument (`InstancePool<T, E, L>`, L defaulting to `Lifecycle<T>`):
//
// - A type (deadpool's statically dispatched manager): any type with some of
//   the members `is_healthy`, `reset` and `on_destroy`, static or not. The
//   pool calls them directly, so they inline into its release path, and a hook
//   the type does not declare costs nothing at all (no test, no call). The
//   `PoolLifecycle` concept below says what each member must look like.
//
//     struct ConnHooks {
//       static bool is_healthy(const Conn& c) noexcept { return !c.broken(); }
//       static bool reset(Conn& c) { return c.rollback(); }
//     };
//     auto pool = warmpool::InstancePool<Conn, Err, ConnHooks>::create(cfg, make_conn);
//
// - `Lifecycle<T>`, the type-erased form: a struct of std::functions, for code
//   that decides the hooks at run time. Each call is an indirect call the
//   compiler cannot inline (about 1 ns a hook on a release), and an empty
//   member means "no hook".
//
//     warmpool::Lifecycle<Conn> lc;
//     lc.reset = [](Conn& c) { return c.rollback(); };
//     lc.is_healthy = [](const Conn& c) { return !c.broken(); };
//     auto pool = warmpool::InstancePool<Conn, Err>::create(cfg, make_conn, lc);
//
// Every hook is optional in both forms: a missing one means "nothing to do"
// (reset succeeds, the instance is healthy, destruction needs no hook). Hooks
// run on the releasing thread, from many threads at once, so the pool calls
// them on a const lifecycle object. A hook that throws counts as failing
// (the instance is destroyed); declare it noexcept and the pool skips the
// handler.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>

namespace warmpool {

// The type-erased lifecycle.
template <class T>
struct Lifecycle {
  // Restores the instance to its just-created state. Runs on the releasing
  // thread under `Recycle::Reset`; returning false destroys the instance.
  std::function<bool(T&)> reset;
  // Checked on every release; false destroys the instance (a trapped plugin).
  std::function<bool(const T&)> is_healthy;
  // Runs once, just before the pool destroys an instance it owns.
  std::function<void(T&)> on_destroy;
};

// A lifecycle without hooks: Reuse and Fresh pools that need none, spelled
// as a type so that the pool compiles every hook out.
struct NoHooks {};

namespace internal {

// A member of that name exists (one non-overloaded declaration).
template <class L>
concept names_is_healthy = requires {
  &L::is_healthy;
};
template <class L>
concept names_reset = requires {
  &L::reset;
};
template <class L>
concept names_on_destroy = requires {
  &L::on_destroy;
};

// The member can be called the way the pool calls it.
template <class L, class T>
concept health_hook = requires(const L& l, const T& t) {
  { l.is_healthy(t) } -> std::convertible_to<bool>;
};
template <class L, class T>
concept reset_hook = requires(const L& l, T& t) {
  { l.reset(t) } -> std::convertible_to<bool>;
};
template <class L, class T>
concept destroy_hook = requires(const L& l, T& t) {
  l.on_destroy(t);
};

}  // namespace internal

// A lifecycle for instances of T: movable, and each hook it names callable on
// a const L as `bool is_healthy(const T&)`, `bool reset(T&)`,
// `void on_destroy(T&)`. A hook declared with another signature (a typo, a
// non-const member function) is an error rather than silently ignored.
// An overloaded or templated hook is used when one of its forms fits.
template <class L, class T>
concept PoolLifecycle = std::move_constructible<L> &&
    (internal::health_hook<L, T> ||
     !internal::names_is_healthy<L>)&&(internal::reset_hook<L, T> ||
                                       !internal::names_reset<L>)&&(internal::destroy_hook<L, T> ||
                                                                    !internal::names_on_destroy<L>);

}  // namespace warmpool
