// The core pool's rules (issue 2): warm-up, hit/miss/exhausted, the cap,
// factory failures, release, checkout/take/discard, outliving the pool,
// move-only and expensive-to-move instances, and the debug print.
#include <gtest/gtest.h>

#include <atomic>
#include <expected>
#include <latch>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace warmpool::test {
namespace {

TEST(PoolBasics, CreateWarmsUpSoTheFirstCallIsAHit) {
  Fixture f;
  auto pool = Pool::create(config(4, 2), f.factory());
  ASSERT_TRUE(pool.has_value());
  EXPECT_EQ(f.census.built.load(), 2);
  EXPECT_EQ(pool->metrics()->live(), 2u);
  EXPECT_EQ(pool->metrics()->idle(), 2u);
  auto a = pool->acquire();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(pool->metrics()->hits(), 1u);
  EXPECT_EQ(pool->metrics()->misses(), 0u);
  pool->release(std::move(*a));
}

TEST(PoolBasics, WarmCountIsCappedByMaxInstances) {
  Fixture f;
  auto pool = Pool::create(config(2, 5), f.factory());
  ASSERT_TRUE(pool.has_value());
  EXPECT_EQ(f.census.built.load(), 2);
}

TEST(PoolBasics, WarmUpFailureReturnsTheErrorAndDestroysWhatWasBuilt) {
  Fixture f;
  auto pool = Pool::create(config(4, 4), f.factory(/*fail_every=*/3));
  ASSERT_FALSE(pool.has_value());
  EXPECT_EQ(pool.error().kind, TestError::Kind::factory);
  EXPECT_EQ(f.census.built.load(), 2);
  EXPECT_EQ(f.census.alive(), 0);
}

TEST(PoolBasics, WarmUpExceptionIsRethrownAfterDestroyingWhatWasBuilt) {
  Fixture f;
  EXPECT_THROW((void)Pool::create(config(4, 4), f.factory(0, /*throw_every=*/2)),
               std::runtime_error);
  EXPECT_EQ(f.census.alive(), 0);
}

TEST(PoolBasics, ZeroMaxInstancesIsRejected) {
  Fixture f;
  auto pool = Pool::create(config(0, 0), f.factory());
  ASSERT_FALSE(pool.has_value());
  EXPECT_NE(pool.error().message.find("max_instances"), std::string::npos);
}

TEST(PoolBasics, MissBuildsBelowTheCapThenExhaustedNamesTheLimit) {
  Fixture f;
  auto pool = Pool::create(config(2, 1), f.factory());
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  auto b = pool->acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->id(), b->id());
  auto c = pool->acquire();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().kind, TestError::Kind::resource_limit);
  EXPECT_EQ(c.error().message,
            "instance pool at capacity: max_instances=2 reached (2 in use, 0 idle, 0 being "
            "built, 0 being destroyed or about to be built)");
  auto m = pool->metrics();
  EXPECT_EQ(m->hits(), 1u);
  EXPECT_EQ(m->misses(), 1u);
  EXPECT_EQ(m->exhausted(), 1u);
  EXPECT_EQ(m->live(), 2u);
  EXPECT_EQ(m->in_use(), 2u);
  pool->release(std::move(*a));
  pool->release(std::move(*b));
  EXPECT_EQ(m->idle(), 2u);
  EXPECT_EQ(m->in_use(), 0u);
}

// A one-instance pool between uses (its instance released, destruction under
// way) once read "0 in use, 0 being built": the message names where the
// capacity is.
TEST(PoolBasics, ExhaustedWhileTheOnlyInstanceIsDestroyedSaysSo) {
  Fixture f;
  std::atomic<bool> destroying{false};
  std::latch finish_destroying(1);
  Lifecycle<Tracked> lifecycle;
  lifecycle.on_destroy = [&](Tracked&) {
    destroying = true;
    finish_destroying.wait();
  };
  auto pool = Pool::create(config(1, 0, Recycle::Fresh), f.factory(), lifecycle);
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  ASSERT_TRUE(a.has_value());
  std::thread releaser([&] { pool->release(std::move(*a)); });
  const bool entered = eventually([&] { return destroying.load(); });
  std::optional<std::expected<Tracked, TestError>> during;
  if (entered) during = pool->acquire();
  finish_destroying.count_down();
  releaser.join();
  ASSERT_TRUE(entered) << "on_destroy never ran";
  ASSERT_FALSE(during->has_value());
  EXPECT_EQ(during->error().message,
            "instance pool at capacity: max_instances=1 reached (0 in use, 0 idle, 0 being "
            "built, 1 being destroyed or about to be built)");
  auto after = pool->acquire();  // the capacity came back with the destruction
  ASSERT_TRUE(after.has_value()) << after.error().message;
  pool->release(std::move(*after));
}

TEST(PoolBasics, FactoryErrorGivesTheSlotBackAndReachesTheCaller) {
  Fixture f;
  auto pool = Pool::create(config(1, 0), f.factory(/*fail_every=*/1));
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().kind, TestError::Kind::factory);
  EXPECT_EQ(pool->metrics()->live(), 0u);
  EXPECT_EQ(pool->metrics()->factory_failures(), 1u);
  ASSERT_TRUE(pool->last_factory_error().has_value());
  EXPECT_EQ(pool->last_factory_error()->kind, TestError::Kind::factory);
  // The capacity is usable again: a second attempt builds again (and fails
  // again, as a factory error, not as exhausted).
  auto b = pool->acquire();
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().kind, TestError::Kind::factory);
  EXPECT_EQ(pool->metrics()->exhausted(), 0u);
}

TEST(PoolBasics, FactoryExceptionGivesTheSlotBackAndIsRethrown) {
  Fixture f;
  auto pool = Pool::create(config(1, 0), f.factory(0, /*throw_every=*/1));
  ASSERT_TRUE(pool.has_value());
  EXPECT_THROW((void)pool->acquire(), std::runtime_error);
  EXPECT_EQ(pool->metrics()->live(), 0u);
  EXPECT_THROW((void)pool->checkout(), std::runtime_error);
  EXPECT_EQ(pool->metrics()->live(), 0u);
  EXPECT_EQ(pool->metrics()->factory_failures(), 2u);
}

TEST(PoolBasics, ReleasedInstanceIsReused) {
  Fixture f;
  auto pool = Pool::create(config(2, 1), f.factory());
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  const auto id = a->id();
  pool->release(std::move(*a));
  auto b = pool->acquire();
  EXPECT_EQ(b->id(), id);
  pool->release(std::move(*b));
  EXPECT_EQ(f.census.built.load(), 1);
}

TEST(PoolBasics, ReleaseThatWouldExceedTheCapDestroysTheInstance) {
  Fixture f;
  auto pool = Pool::create(config(1, 1), f.factory());
  ASSERT_TRUE(pool.has_value());
  // An instance from elsewhere while the pool is full (one idle, cap 1).
  pool->release(Tracked(999, f.census));
  EXPECT_EQ(pool->metrics()->live(), 1u);
  EXPECT_EQ(pool->metrics()->idle(), 1u);
  EXPECT_EQ(f.census.alive(), 1);
}

TEST(PoolBasics, CheckoutReturnsOnScopeExitWithoutMoving) {
  Fixture f;
  auto pool = Pool::create(config(2, 1), f.factory());
  ASSERT_TRUE(pool.has_value());
  std::uint64_t id = 0;
  {
    auto h = pool->checkout();
    ASSERT_TRUE(h.has_value());
    id = (*h)->id();
    (**h).state().counter = 7;
    EXPECT_EQ(h->get().state().counter, 7u);
    EXPECT_EQ(pool->metrics()->in_use(), 1u);
  }
  EXPECT_EQ(pool->metrics()->idle(), 1u);
  auto h = pool->checkout();
  EXPECT_EQ((*h)->id(), id);
  EXPECT_EQ((*h)->state().counter, 7u);
}

TEST(PoolBasics, TakeDetachesInstanceAndSlotForGood) {
  Fixture f;
  PoolConfig c = config(2, 1);
  c.refill_threads = 1;  // refill must not replace a taken instance
  auto pool = Pool::create(c, f.factory());
  ASSERT_TRUE(pool.has_value());
  auto h = pool->checkout();
  Tracked t = h->take();
  EXPECT_FALSE(static_cast<bool>(*h));
  EXPECT_EQ(pool->metrics()->live(), 0u);
  EXPECT_EQ(pool->metrics()->in_use(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds{20});
  EXPECT_EQ(f.census.built.load(), 1);
  EXPECT_EQ(f.census.alive(), 1);
}

TEST(PoolBasics, DiscardDestroysNowAndNeverHandsOutAgain) {
  Fixture f;
  auto pool = Pool::create(config(2, 1), f.factory());
  ASSERT_TRUE(pool.has_value());
  auto h = pool->checkout();
  const auto id = (*h)->id();
  h->discard();
  EXPECT_EQ(f.census.alive(), 0);
  EXPECT_EQ(pool->metrics()->discarded(), 1u);
  EXPECT_EQ(pool->metrics()->live(), 0u);
  auto next = pool->acquire();
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(next->id(), id);
  pool->release(std::move(*next));
}

TEST(PoolBasics, HandleAndInstanceMayOutliveThePool) {
  Fixture f;
  std::shared_ptr<const PoolMetrics> metrics;
  std::optional<PooledInstance<Tracked, TestError>> handle;
  std::optional<Tracked> plain;
  {
    auto pool = Pool::create(config(3, 3), f.factory());
    ASSERT_TRUE(pool.has_value());
    metrics = pool->metrics();
    handle.emplace(std::move(*pool->checkout()));
    plain.emplace(std::move(*pool->acquire()));
  }
  EXPECT_EQ(f.census.alive(), 2);  // the idle one went with the pool
  (*handle)->state().counter = 1;  // still usable
  handle.reset();                  // returning into a destroyed pool destroys it
  EXPECT_EQ(f.census.alive(), 1);
  plain.reset();
  EXPECT_EQ(f.census.alive(), 0);
  EXPECT_EQ(metrics->created(), 3u);
  EXPECT_EQ(metrics->destroyed(), 2u);  // the plain T was destroyed by its owner
  EXPECT_EQ(metrics->live(), 1u);       // the plain T's capacity never came back
}

TEST(PoolBasics, MovedPoolKeepsWorking) {
  Fixture f;
  auto created = Pool::create(config(2, 1), f.factory());
  ASSERT_TRUE(created.has_value());
  Pool pool = std::move(*created);
  auto a = pool.acquire();
  ASSERT_TRUE(a.has_value());
  pool.release(std::move(*a));
  Pool other = std::move(pool);
  EXPECT_EQ(other.metrics()->hits(), 1u);
}

TEST(PoolBasics, WorksWithUniquePtr) {
  struct Err {
    std::string m;
    static Err resource_limit(std::string s) { return {std::move(s)}; }
  };
  auto pool = InstancePool<std::unique_ptr<int>, Err>::create(config(2, 1), [] {
    return std::expected<std::unique_ptr<int>, Err>(std::make_unique<int>(42));
  });
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(**a, 42);
  pool->release(std::move(*a));
  auto h = pool->checkout();
  EXPECT_EQ(***h, 42);
}

// 64 bytes by value, counting moves: checkout must not move at all.
struct Heavy {
  static inline std::atomic<int> moves{0};
  std::array<std::uint64_t, 8> data{};
  explicit Heavy(std::uint64_t v) { data.fill(v); }
  Heavy(Heavy&& o) noexcept : data(o.data) { moves.fetch_add(1); }
  Heavy& operator=(Heavy&&) = delete;
};

TEST(PoolBasics, ExpensiveToMoveInstancesAreNotMovedByCheckout) {
  struct Err {
    static Err resource_limit(std::string) { return {}; }
  };
  auto pool = InstancePool<Heavy, Err>::create(
      config(2, 1), [] { return std::expected<Heavy, Err>(std::in_place, 7u); });
  ASSERT_TRUE(pool.has_value());
  const int before = Heavy::moves.load();
  for (int i = 0; i < 10; ++i) {
    auto h = pool->checkout();
    EXPECT_EQ((*h)->data[3], 7u);
  }
  EXPECT_EQ(Heavy::moves.load(), before);
  // acquire()/release() move once each way.
  auto a = pool->acquire();
  pool->release(std::move(*a));
  EXPECT_LE(Heavy::moves.load() - before, 3);
}

TEST(PoolBasics, PrintsLikeTheSeedsDebug) {
  Fixture f;
  auto pool = Pool::create(config(3, 1), f.factory());
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  auto b = pool->acquire();
  pool->release(std::move(*a));
  std::ostringstream os;
  os << *pool;
  EXPECT_EQ(os.str(),
            "InstancePool{max_instances=3, warm_count=1, live=2, idle=1, hits=1, misses=1, "
            "exhausted=0}");
  pool->release(std::move(*b));
}

TEST(PoolBasics, ConfigIsKept) {
  Fixture f;
  PoolConfig c = config(5, 2);
  c.max_uses = 9;
  auto pool = Pool::create(c, f.factory());
  ASSERT_TRUE(pool.has_value());
  EXPECT_EQ(pool->config().max_instances, 5u);
  EXPECT_EQ(pool->config().max_uses, 9u);
}

}  // namespace
}  // namespace warmpool::test
