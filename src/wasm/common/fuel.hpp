// wasm/common/fuel.hpp — internal: the host side of fuel metering for one call.
//
// prepare.hpp makes the guest decrement the exported global `__warmpool_fuel`
// and call `warmpool.out_of_fuel` when it goes negative. The host hands fuel
// out in slices rather than all at once so that, even with an unlimited
// budget, the guest comes back to the host regularly and a deadline can be
// enforced from inside out_of_fuel.
//
//   internal::FuelBudget budget;
//   set_fuel_global(budget.begin(limits.fuel));        // before the call
//   // in the out_of_fuel host function:
//   auto slice = budget.refill(timer.expired());
//   if (!slice) return trap(slice.error());            // StopReason::fuel / deadline
//   return *slice;                                     // the guest adds it to the global
#pragma once

#include <cstdint>
#include <expected>
#include <limits>

namespace warmpool::wasm::internal {

enum class StopReason { fuel, deadline };

class FuelBudget {
 public:
  // Fuel handed out per out_of_fuel call: small enough that the interpreter
  // returns to the host every few milliseconds, large enough that the host
  // call is noise.
  static constexpr std::int64_t kSlice = 10'000;

  // Starts a call with `limit` units (0 = unlimited); returns the value to
  // store into `__warmpool_fuel` before entering the guest.
  std::int64_t begin(std::uint64_t limit) noexcept;

  // Starts a call whose guest holds no fuel yet: a start function, which
  // instantiation runs before the host can store a first slice. The global
  // starts at 0, so the guest's first check asks refill() for it.
  void begin_empty(std::uint64_t limit) noexcept;

  // The guest ran out of its current slice: the next slice, or why it must stop.
  std::expected<std::int64_t, StopReason> refill(bool deadline_passed) noexcept;

 private:
  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

  std::int64_t take_slice() noexcept;

  std::uint64_t remaining_ = 0;  // not yet handed out
};

}  // namespace warmpool::wasm::internal
