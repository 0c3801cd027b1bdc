// warmpool/wasm/host_function.hpp — a C++ function a guest can import, with
// its wasm signature.
//
// Usually built for you by Linker::define from any callable whose parameter
// and result types are wasm numbers (std::int32_t, std::int64_t, float,
// double; void for no result), optionally taking a `Caller&` first. A callable
// may also return std::expected<R, E> (E: std::string or WasmError): an error
// stops the call with its message, like Caller::stop or throwing.
//
//   auto add = warmpool::wasm::HostFunction::wrap([](std::int32_t a, std::int32_t b) {
//     return a + b;                           // (i32, i32) -> (i32)
//   });
//   auto untyped = warmpool::wasm::HostFunction(
//       {{ValueType::i64}, {}},               // signature known only at run time
//       [](Caller&, std::span<const std::uint64_t> args, std::span<std::uint64_t>) {
//         record(static_cast<std::int64_t>(args[0]));   // see types.hpp, "Raw values"
//       });
//
// A host function is shared by every instance linked with it and may run on
// many threads at once: keep per-instance state in host data (Caller::data),
// not in the callable.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "warmpool/wasm/caller.hpp"
#include "warmpool/wasm/error.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm {

namespace internal {

template <class T>
struct IsExpected : std::false_type {};
template <class T, class E>
struct IsExpected<std::expected<T, E>> : std::true_type {};

inline std::string error_text(const std::string& e) {
  return e;
}
inline std::string error_text(const WasmError& e) {
  return e.message();
}

// The parameter and result types of a callable's call operator.
template <class F>
struct CallableTraits : CallableTraits<decltype(&F::operator())> {};
template <class R, class... A>
struct CallableTraits<R (*)(A...)> {
  using Result = R;
  using Params = std::tuple<A...>;
};
template <class R, class... A>
struct CallableTraits<R (*)(A...) noexcept> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...)> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...) const> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...) noexcept> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...) const noexcept> : CallableTraits<R (*)(A...)> {};

template <class Params>
struct HostParams;
template <class... A>
struct HostParams<std::tuple<A...>> {
  static constexpr bool takes_caller = false;
  using Numbers = std::tuple<A...>;
};
template <class... A>
struct HostParams<std::tuple<Caller&, A...>> {
  static constexpr bool takes_caller = true;
  using Numbers = std::tuple<A...>;
};

template <class R>
struct HostResult {
  using Value = R;
  static constexpr bool fallible = false;
};
template <class R, class E>
struct HostResult<std::expected<R, E>> {
  using Value = R;
  static constexpr bool fallible = true;
};

template <class T>
constexpr bool is_result_type = std::is_void_v<T> || WasmNumber<T>;

}  // namespace internal

class HostFunction {
 public:
  // Reads one raw value per parameter, writes one per result.
  using Callback =
      std::function<void(Caller&, std::span<const std::uint64_t>, std::span<std::uint64_t>)>;

  HostFunction(FunctionType type, Callback callback)
      : type_(std::move(type)), callback_(std::move(callback)) {}

  // The signature is deduced from `f` (see the header comment).
  template <class F>
  static HostFunction wrap(F f) {
    using Traits = internal::CallableTraits<std::decay_t<F>>;
    using Params = internal::HostParams<typename Traits::Params>;
    using Result = internal::HostResult<typename Traits::Result>;
    return wrap_numbers<Params::takes_caller, Result>(std::move(f), typename Params::Numbers{});
  }

  const FunctionType& type() const noexcept { return type_; }
  const Callback& callback() const noexcept { return callback_; }

 private:
  template <bool kTakesCaller, class Result, class F, class... A>
  static HostFunction wrap_numbers(F f, std::tuple<A...>) {
    static_assert((WasmNumber<A> && ...),
                  "host function parameters must be std::int32_t, std::int64_t, float or double "
                  "(after an optional Caller&)");
    using R = typename Result::Value;
    static_assert(internal::is_result_type<R>,
                  "host functions return void, std::int32_t, std::int64_t, float or double "
                  "(or std::expected of one)");
    constexpr bool const_callable = kTakesCaller ? std::is_invocable_v<const F&, Caller&, A...>
                                                 : std::is_invocable_v<const F&, A...>;
    static_assert(const_callable,
                  "a host function is shared by every instance and may run on many threads at "
                  "once: it must be callable as const (no `mutable` lambda; keep per-instance "
                  "state in host data)");
    FunctionType type{{WasmTypeOf<A>::value...}, {}};
    if constexpr (!std::is_void_v<R>) type.results.push_back(WasmTypeOf<R>::value);
    auto callback = [f = std::move(f)](Caller& caller, std::span<const std::uint64_t> args,
                                       std::span<std::uint64_t> results) {
      auto invoke = [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
        if constexpr (kTakesCaller) {
          return f(caller, from_raw_as<A>(args[I])...);
        } else {
          return f(from_raw_as<A>(args[I])...);
        }
      };
      constexpr auto indices = std::index_sequence_for<A...>{};
      if constexpr (Result::fallible) {
        auto r = invoke(indices);
        if (!r) return caller.stop(internal::error_text(r.error()));
        if constexpr (!std::is_void_v<R>) results[0] = to_raw(*r);
      } else if constexpr (std::is_void_v<R>) {
        invoke(indices);
      } else {
        results[0] = to_raw(invoke(indices));
      }
    };
    return HostFunction(std::move(type), std::move(callback));
  }

  FunctionType type_;
  Callback callback_;
};

}  // namespace warmpool::wasm
