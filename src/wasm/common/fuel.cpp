#include "wasm/common/fuel.hpp"

#include <algorithm>

namespace warmpool::wasm::internal {

std::int64_t FuelBudget::begin(std::uint64_t limit) noexcept {
  begin_empty(limit);
  return take_slice();
}

void FuelBudget::begin_empty(std::uint64_t limit) noexcept {
  remaining_ = limit == 0 ? kUnlimited : limit;
}

std::int64_t FuelBudget::take_slice() noexcept {
  const auto slice = std::min<std::uint64_t>(remaining_, kSlice);
  if (remaining_ != kUnlimited) remaining_ -= slice;
  return static_cast<std::int64_t>(slice);
}

std::expected<std::int64_t, StopReason> FuelBudget::refill(bool deadline_passed) noexcept {
  if (deadline_passed) return std::unexpected(StopReason::deadline);
  if (remaining_ == 0) return std::unexpected(StopReason::fuel);
  return take_slice();
}

}  // namespace warmpool::wasm::internal
