// The host side of metering: slices, the budget, and the deadline flag.
#include <gtest/gtest.h>

#include "wasm/common/fuel.hpp"

namespace warmpool::wasm::internal {
namespace {

TEST(FuelBudget, HandsOutTheWholeBudgetInSlicesThenStops) {
  FuelBudget budget;
  const std::uint64_t limit = FuelBudget::kSlice * 3 + 7;
  std::uint64_t total = static_cast<std::uint64_t>(budget.begin(limit));
  for (;;) {
    auto slice = budget.refill(false);
    if (!slice) {
      EXPECT_EQ(slice.error(), StopReason::fuel);
      break;
    }
    EXPECT_GT(*slice, 0);
    EXPECT_LE(*slice, FuelBudget::kSlice);
    total += static_cast<std::uint64_t>(*slice);
  }
  EXPECT_EQ(total, limit);
}

TEST(FuelBudget, SmallBudgetsFitInTheFirstSlice) {
  FuelBudget budget;
  EXPECT_EQ(budget.begin(5), 5);
  EXPECT_EQ(budget.refill(false).error(), StopReason::fuel);
}

TEST(FuelBudget, UnlimitedOnlyStopsAtTheDeadline) {
  FuelBudget budget;
  EXPECT_EQ(budget.begin(0), FuelBudget::kSlice);
  for (int i = 0; i < 100'000; ++i) ASSERT_EQ(budget.refill(false), FuelBudget::kSlice);
  EXPECT_EQ(budget.refill(true).error(), StopReason::deadline);
}

TEST(FuelBudget, BeginStartsAFreshBudget) {
  FuelBudget budget;
  budget.begin(3);
  ASSERT_FALSE(budget.refill(false));
  EXPECT_EQ(budget.begin(4), 4);
}

}  // namespace
}  // namespace warmpool::wasm::internal
