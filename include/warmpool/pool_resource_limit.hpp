// warmpool/pool_resource_limit.hpp — what a pool needs from a loader's error type.
//
// The pool reports "at capacity" in the loader's own error type, so a caller
// handles one error type for everything `acquire` can return:
//
//   struct MyError {
//     static MyError resource_limit(std::string message);
//   };
//   static_assert(warmpool::PoolResourceLimit<MyError>);
#pragma once

#include <concepts>
#include <string>

namespace warmpool {

template <class E>
concept PoolResourceLimit = std::move_constructible<E> && requires(std::string message) {
  { E::resource_limit(std::move(message)) } -> std::convertible_to<E>;
};

}  // namespace warmpool
