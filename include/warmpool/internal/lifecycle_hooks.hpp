// warmpool/internal/lifecycle_hooks.hpp — implementation detail of
// InstancePool: how the pool calls a lifecycle's hooks, and what it knows
// about each hook before the program runs.
//
// Design: each hook of a lifecycle type L is one of three kinds, decided at
// compile time. `absent` (L does not declare it) compiles out of every path;
// `always` (a function L declares) is called directly, so it inlines; `when_set`
// (a data member that tests as a bool, such as Lifecycle<T>'s std::functions)
// is tested at run time, once when the pool is built and again wherever a path
// serves both cases. The judge plans of pool_core.hpp take their booleans from
// these kinds, so a typed lifecycle's release path holds exactly the calls its
// type declares. Trade-off: the kind is a property of the type, so a typed
// lifecycle cannot switch one of its hooks off at run time (use Lifecycle<T>).
// A hook that throws counts as failing; a noexcept hook gets no handler.
#pragma once

#include <type_traits>
#include <utility>

#include "warmpool/lifecycle.hpp"

namespace warmpool::internal {

enum class HookKind { absent, always, when_set };

template <class MemberPointer>
struct MemberType {};
template <class Field, class Class>
struct MemberType<Field Class::*> {
  using type = Field;
};

// `when_set` for a data member that tests as a bool, else `always`. Takes
// the member pointer's type, not its value: a local class's members cannot
// be template arguments.
template <class MemberPointer>
consteval HookKind declared_hook_kind() {
  if constexpr (std::is_member_object_pointer_v<MemberPointer>) {
    using Field = typename MemberType<MemberPointer>::type;
    if constexpr (std::is_constructible_v<bool, const Field&>) return HookKind::when_set;
  }
  return HookKind::always;
}

template <class L, class T>
consteval HookKind health_kind() {
  if constexpr (!health_hook<L, T>) {
    return HookKind::absent;
  } else if constexpr (names_is_healthy<L>) {
    return declared_hook_kind<decltype(&L::is_healthy)>();
  } else {
    return HookKind::always;
  }
}

template <class L, class T>
consteval HookKind reset_kind() {
  if constexpr (!reset_hook<L, T>) {
    return HookKind::absent;
  } else if constexpr (names_reset<L>) {
    return declared_hook_kind<decltype(&L::reset)>();
  } else {
    return HookKind::always;
  }
}

template <class L, class T>
consteval HookKind destroy_kind() {
  if constexpr (!destroy_hook<L, T>) {
    return HookKind::absent;
  } else if constexpr (names_on_destroy<L>) {
    return declared_hook_kind<decltype(&L::on_destroy)>();
  } else {
    return HookKind::always;
  }
}

template <class L, class T>
requires PoolLifecycle<L, T>
struct LifecycleHooks {
  static constexpr HookKind kHealth = health_kind<L, T>();
  static constexpr HookKind kReset = reset_kind<L, T>();
  static constexpr HookKind kDestroy = destroy_kind<L, T>();

  // Whether `lc` has the hook at run time (a constant unless `when_set`).
  static bool has_health(const L& lc) noexcept {
    if constexpr (kHealth == HookKind::when_set) return static_cast<bool>(lc.is_healthy);
    return kHealth == HookKind::always;
  }
  static bool has_reset(const L& lc) noexcept {
    if constexpr (kReset == HookKind::when_set) return static_cast<bool>(lc.reset);
    return kReset == HookKind::always;
  }
  static bool has_destroy(const L& lc) noexcept {
    if constexpr (kDestroy == HookKind::when_set) return static_cast<bool>(lc.on_destroy);
    return kDestroy == HookKind::always;
  }

  // The hook's answer; a throwing hook says no.
  [[gnu::always_inline]] static bool healthy(const L& lc, const T& t) noexcept {
    if constexpr (noexcept(lc.is_healthy(t))) {
      return static_cast<bool>(lc.is_healthy(t));
    } else {
      try {
        return static_cast<bool>(lc.is_healthy(t));
      } catch (...) {
        return false;
      }
    }
  }

  [[gnu::always_inline]] static bool reset(const L& lc, T& t) noexcept {
    if constexpr (noexcept(lc.reset(t))) {
      return static_cast<bool>(lc.reset(t));
    } else {
      try {
        return static_cast<bool>(lc.reset(t));
      } catch (...) {
        return false;
      }
    }
  }

  // A failing on_destroy must not take the pool's bookkeeping down with it.
  static void on_destroy(const L& lc, T& t) noexcept {
    if constexpr (kDestroy != HookKind::absent) {
      if (!has_destroy(lc)) return;
      try {
        lc.on_destroy(t);
      } catch (...) {
      }
    }
  }
};

}  // namespace warmpool::internal
