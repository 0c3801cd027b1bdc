// Issue 3's lifecycle rules: Recycle policies, health checks, max_uses,
// max_lifetime, the reaper, background refill, waiting acquire, backoff and
// the destructor.
#include <dirent.h>
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <string>

#include "test_support.hpp"

namespace warmpool::test {
namespace {

using namespace std::chrono_literals;

Lifecycle<Tracked> resetting_lifecycle() {
  Lifecycle<Tracked> lc;
  lc.reset = [](Tracked& t) {
    t.state().counter = 0;
    t.state().notes.clear();
    return true;
  };
  lc.is_healthy = [](const Tracked& t) { return t.state().healthy; };
  return lc;
}

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

TEST(PoolLifecycle, ReuseKeepsState) {
  Fixture f;
  auto pool = Pool::create(config(1, 1), f.factory());
  {
    auto h = pool->checkout();
    (*h)->state().counter = 5;
  }
  auto h = pool->checkout();
  EXPECT_EQ((*h)->state().counter, 5u);
}

TEST(PoolLifecycle, ResetRestoresStateOnRelease) {
  Fixture f;
  auto pool = Pool::create(config(1, 1, Recycle::Reset), f.factory(), resetting_lifecycle());
  auto a = pool->acquire();
  a->state().counter = 5;
  const auto id = a->id();
  pool->release(std::move(*a));
  auto b = pool->acquire();
  EXPECT_EQ(b->id(), id);             // same instance ...
  EXPECT_EQ(b->state().counter, 0u);  // ... in its just-created state
  pool->release(std::move(*b));
}

TEST(PoolLifecycle, FailedResetDestroysAndRefillReplaces) {
  Fixture f;
  Lifecycle<Tracked> lc;
  lc.reset = [](Tracked&) { return false; };
  auto pool = Pool::create(config(2, 1, Recycle::Reset, 1), f.factory(), lc);
  { auto h = pool->checkout(); }
  EXPECT_EQ(pool->metrics()->discarded(), 1u);
  EXPECT_TRUE(eventually([&] { return pool->metrics()->idle() == 1; }));
  EXPECT_EQ(f.census.built.load(), 2);
  EXPECT_EQ(f.census.alive(), 1);
}

TEST(PoolLifecycle, ThrowingResetCountsAsFailed) {
  Fixture f;
  Lifecycle<Tracked> lc;
  lc.reset = [](Tracked&) -> bool { throw std::runtime_error("reset threw"); };
  auto pool = Pool::create(config(1, 1, Recycle::Reset), f.factory(), lc);
  { auto h = pool->checkout(); }
  EXPECT_EQ(pool->metrics()->discarded(), 1u);
  EXPECT_EQ(f.census.alive(), 0);
}

TEST(PoolLifecycle, FreshHandsEachInstanceOutOnce) {
  Fixture f;
  auto pool = Pool::create(config(2, 1, Recycle::Fresh, 1), f.factory());
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 20; ++i) {
    auto h = pool->checkout();
    ASSERT_TRUE(h.has_value());
    EXPECT_TRUE(seen.insert((*h)->id()).second) << "instance handed out twice";
    EXPECT_EQ((*h)->state().counter, 0u);
    (*h)->state().counter = 1;
  }
  EXPECT_TRUE(eventually([&] { return f.census.alive() == 1; }));  // the spare
}

TEST(PoolLifecycle, FreshRefillKeepsSparesReadyWhileInstancesAreHeld) {
  Fixture f;
  auto pool = Pool::create(config(3, 1, Recycle::Fresh, 1), f.factory());
  auto m = pool->metrics();
  auto a = pool->acquire();
  EXPECT_EQ(m->hits(), 1u);
  ASSERT_TRUE(eventually([&] { return m->idle() == 1; })) << "no spare after a hit";
  auto b = pool->acquire();
  EXPECT_EQ(m->hits(), 2u);
  ASSERT_TRUE(eventually([&] { return m->idle() == 1 && m->live() == 3; }));
  auto c = pool->acquire();
  // All max_instances in use: no spares.
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(m->live(), 3u);
  EXPECT_EQ(m->idle(), 0u);
  EXPECT_EQ(m->misses(), 0u);
  pool->release(std::move(*a));  // destroyed; refill builds a spare
  ASSERT_TRUE(eventually([&] { return m->idle() == 1; }));
  pool->release(std::move(*b));
  pool->release(std::move(*c));
  ASSERT_TRUE(eventually([&] { return f.census.alive() == 1; }));
}

// Refill counts spares from the hits each thread publishes, not from the
// slots: hits by several threads (each its own metric shard), held and then
// released, must all be replaced.
TEST(PoolLifecycle, FreshRefillReplacesSparesTakenByEveryThread) {
  Fixture f;
  auto pool = Pool::create(config(8, 2, Recycle::Fresh, 1), f.factory());
  auto m = pool->metrics();
  constexpr int kThreads = 3;
  std::vector<Tracked> held;
  for (int i = 0; i < kThreads; ++i) {
    std::thread([&] {  // one at a time: `held` needs no lock
      auto inst = pool->acquire();
      ASSERT_TRUE(inst.has_value());
      held.push_back(std::move(*inst));
      // Let refill catch up before the next thread takes a spare, so each
      // acquire is a hit on a spare refill built.
      ASSERT_TRUE(eventually([&] { return m->idle() == 2; }));
    })
        .join();
  }
  EXPECT_EQ(m->hits(), static_cast<std::uint64_t>(kThreads));
  EXPECT_EQ(m->misses(), 0u);
  ASSERT_EQ(held.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(m->live(), 2u + kThreads) << "each held instance replaced by one spare";
  for (auto& inst : held) pool->release(std::move(inst));
  ASSERT_TRUE(eventually([&] { return m->idle() == 2 && m->live() == 2; }));
  EXPECT_TRUE(eventually([&] { return f.census.alive() == 2; }));
}

// The refill thread lingers after a build and parks once idle for a while;
// a Fresh hit must get its spare rebuilt either way (found by the lingering
// thread itself, or by notifying the parked one).
TEST(PoolLifecycle, FreshSpareIsRebuiltWhetherTheRefillThreadLingersOrParks) {
  Fixture f;
  auto pool = Pool::create(config(4, 1, Recycle::Fresh, 1), f.factory());
  auto m = pool->metrics();
  for (auto pause : {0ms, 50ms, 0ms, 50ms}) {
    std::this_thread::sleep_for(pause);
    auto h = pool->acquire();
    ASSERT_TRUE(h.has_value());
    ASSERT_TRUE(eventually([&] { return m->idle() == 1; }))
        << "no spare after a hit that followed a " << pause.count() << " ms pause";
    pool->release(std::move(*h));
  }
  EXPECT_EQ(m->hits(), 4u);
  EXPECT_EQ(m->misses(), 0u);
}

TEST(PoolLifecycle, UnhealthyInstanceIsDestroyedAndNeverHandedOutAgain) {
  Fixture f;
  auto pool = Pool::create(config(2, 1), f.factory(), resetting_lifecycle());
  std::uint64_t bad = 0;
  {
    auto h = pool->checkout();
    bad = (*h)->id();
    (*h)->state().healthy = false;
  }
  EXPECT_EQ(pool->metrics()->discarded(), 1u);
  for (int i = 0; i < 5; ++i) {
    auto h = pool->checkout();
    ASSERT_TRUE(h.has_value());
    EXPECT_NE((*h)->id(), bad);
  }
}

TEST(PoolLifecycle, MaxUsesDestroysOnTheReleaseEndingTheNthUse) {
  Fixture f;
  PoolConfig c = config(1, 1);
  c.max_uses = 3;
  auto pool = Pool::create(c, f.factory());
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 7; ++i) {
    auto a = pool->acquire();
    ASSERT_TRUE(a.has_value());
    ids.push_back(a->id());
    pool->release(std::move(*a));
  }
  // Uses 1-3 on the first instance, 4-6 on the second, 7 on the third.
  EXPECT_EQ(ids[0], ids[2]);
  EXPECT_NE(ids[2], ids[3]);
  EXPECT_EQ(ids[3], ids[5]);
  EXPECT_NE(ids[5], ids[6]);
  // The same with handles.
  Fixture g;
  auto p2 = Pool::create(c, g.factory());
  for (int i = 0; i < 6; ++i) auto h = p2->checkout();
  EXPECT_EQ(g.census.built.load(), 2);
}

// A release runs exactly the checks its pool is configured with, in order
// (health, limits, reset), for each of the eight combinations and on both
// return paths: a handle's return takes a path specialised per combination,
// release() one that tests the configuration.
TEST(PoolLifecycle, EveryCombinationOfChecksRunsExactlyItsOwnOnRelease) {
  for (int plan = 0; plan < 8; ++plan) {
    const bool health = (plan & 4) != 0, limits = (plan & 2) != 0, reset = (plan & 1) != 0;
    for (const bool handles : {false, true}) {
      SCOPED_TRACE(testing::Message() << "health " << health << ", limits " << limits << ", reset "
                                      << reset << ", handles " << handles);
      Fixture f;
      std::atomic<int> health_calls{0}, reset_calls{0};
      Lifecycle<Tracked> lc;
      if (health) {
        lc.is_healthy = [&](const Tracked&) {
          ++health_calls;
          return true;
        };
      }
      if (reset) {
        lc.reset = [&](Tracked& t) {
          ++reset_calls;
          t.state().counter = 0;
          return true;
        };
      }
      PoolConfig c = config(1, 1, Recycle::Reset);
      if (limits) c.max_uses = 3;
      auto pool = Pool::create(c, f.factory(), lc);
      ASSERT_TRUE(pool.has_value());
      for (int i = 0; i < 3; ++i) {
        if (handles) {
          auto h = pool->checkout();
          ASSERT_TRUE(h.has_value());
          (*h)->state().counter = 7;
        } else {
          auto a = pool->acquire();
          ASSERT_TRUE(a.has_value());
          a->state().counter = 7;
          pool->release(std::move(*a));
        }
      }
      // The third return ends the third use: with max_uses it destroys the
      // instance before any reset.
      EXPECT_EQ(health_calls.load(), health ? 3 : 0);
      EXPECT_EQ(reset_calls.load(), reset ? (limits ? 2 : 3) : 0);
      EXPECT_EQ(pool->metrics()->destroyed(), limits ? 1u : 0u);
      if (!limits) {
        auto h = pool->checkout();
        ASSERT_TRUE(h.has_value());
        EXPECT_EQ((*h)->state().counter, reset ? 0u : 7u);
      }
    }
  }
}

TEST(PoolLifecycle, MaxLifetimeDestroysOldInstancesInsteadOfReusing) {
  Fixture f;
  PoolConfig c = config(1, 1, Recycle::Reuse, 1);
  c.max_lifetime = 20ms;
  auto pool = Pool::create(c, f.factory());
  auto a = pool->acquire();
  const auto first = a->id();
  // Hold past the lifetime: destroyed on release, and replaced by refill.
  std::this_thread::sleep_for(60ms);
  pool->release(std::move(*a));
  ASSERT_TRUE(eventually([&] {
    auto h = pool->checkout();
    return h && (*h)->id() != first;
  }));
  EXPECT_GE(pool->metrics()->destroyed(), 1u);
}

// The release itself applies max_lifetime (the reaper would only catch the
// instance later, after a hit could have handed it out again): without
// refill, the next acquire right after the release is a miss.
TEST(PoolLifecycle, MaxLifetimeIsAppliedByTheRelease) {
  Fixture f;
  PoolConfig c = config(1, 1);
  c.max_lifetime = 20ms;
  auto pool = Pool::create(c, f.factory());
  auto m = pool->metrics();
  auto a = pool->acquire();
  const auto first = a->id();
  std::this_thread::sleep_for(60ms);
  pool->release(std::move(*a));
  EXPECT_EQ(m->destroyed(), 1u);
  auto b = pool->acquire();
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(b->id(), first);
  pool->release(std::move(*b));

  // The same through a handle.
  std::uint64_t second = 0;
  {
    auto h = pool->checkout();
    ASSERT_TRUE(h.has_value());
    second = (*h)->id();
    std::this_thread::sleep_for(60ms);
  }
  EXPECT_EQ(m->destroyed(), 2u);
  auto g = pool->checkout();
  ASSERT_TRUE(g.has_value());
  EXPECT_NE((*g)->id(), second);
}

TEST(PoolLifecycle, ReaperDestroysIdleInstancesButKeepsWarmCount) {
  Fixture f;
  PoolConfig c = config(4, 1);
  c.idle_timeout = 20ms;
  auto pool = Pool::create(c, f.factory());
  {
    std::vector<PooledInstance<Tracked, TestError>> held;
    for (int i = 0; i < 4; ++i) held.push_back(std::move(*pool->checkout()));
  }
  auto m = pool->metrics();
  EXPECT_EQ(m->idle(), 4u);
  ASSERT_TRUE(eventually([&] { return m->reaped() == 3; }));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(m->reaped(), 3u);
  EXPECT_EQ(m->live(), 1u);
  EXPECT_EQ(m->idle(), 1u);
  EXPECT_EQ(f.census.alive(), 1);
}

TEST(PoolLifecycle, RefillReplacesWhatThePoolDestroyedButNotHitsOrTakes) {
  Fixture f;
  auto pool = Pool::create(config(4, 2, Recycle::Reuse, 1), f.factory());
  auto m = pool->metrics();
  for (int i = 0; i < 50; ++i) auto h = pool->checkout();  // hits: nothing to refill
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(m->created(), 2u);
  pool->checkout()->discard();
  ASSERT_TRUE(eventually([&] { return m->live() == 2 && m->idle() == 2; }));
  EXPECT_EQ(m->created(), 3u);
  Tracked taken = pool->checkout()->take();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(m->created(), 3u);
  EXPECT_EQ(m->live(), 1u);
}

TEST(PoolLifecycle, AcquireTimeoutWaitsForARelease) {
  Fixture f;
  PoolConfig c = config(1, 1);
  c.acquire_timeout = 5s;
  auto pool = Pool::create(c, f.factory());
  auto a = pool->acquire();
  auto waiter = std::async(std::launch::async, [&] { return pool->acquire(); });
  ASSERT_TRUE(eventually([&] { return pool->metrics()->waits() == 1; }));
  pool->release(std::move(*a));
  auto got = waiter.get();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(pool->metrics()->exhausted(), 0u);
  EXPECT_EQ(pool->metrics()->acquire_wait().count(), 1u);
  pool->release(std::move(*got));
}

TEST(PoolLifecycle, AcquireTimeoutExpiresAsExhaustedNamingTheWait) {
  Fixture f;
  PoolConfig c = config(1, 1);
  c.acquire_timeout = 30ms;
  auto pool = Pool::create(c, f.factory());
  auto a = pool->acquire();
  const auto t0 = std::chrono::steady_clock::now();
  auto b = pool->acquire();
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().kind, TestError::Kind::resource_limit);
  EXPECT_NE(b.error().message.find("acquire_timeout=30 ms"), std::string::npos)
      << b.error().message;
  EXPECT_GE(waited, 30ms);
  EXPECT_EQ(pool->metrics()->wait_timeouts(), 1u);
  EXPECT_EQ(pool->metrics()->exhausted(), 1u);
  pool->release(std::move(*a));
}

TEST(PoolLifecycle, AcquireAtCapOnlyBecauseOfABuildInFlightWaitsForIt) {
  Census census;
  std::atomic<std::uint64_t> ids{0};
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> calls{0};
  auto factory = [&]() -> std::expected<Tracked, TestError> {
    if (calls.fetch_add(1) == 0) {
      open.wait();  // the first build blocks, then fails
      return std::unexpected(TestError::factory("first build fails"));
    }
    return Tracked(ids.fetch_add(1) + 1, census);
  };
  auto pool = Pool::create(config(1, 0), factory);  // acquire_timeout 0
  auto first = std::async(std::launch::async, [&] { return pool->acquire(); });
  ASSERT_TRUE(eventually([&] { return pool->metrics()->building() == 1; }));
  auto second = std::async(std::launch::async, [&] { return pool->acquire(); });
  ASSERT_TRUE(eventually([&] { return pool->metrics()->waits() == 1; }));
  gate.set_value();
  EXPECT_FALSE(first.get().has_value());
  auto got = second.get();
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(pool->metrics()->exhausted(), 0u);
  pool->release(std::move(*got));
}

TEST(PoolLifecycle, FailingRefillBacksOffInsteadOfBusyLooping) {
  Census census;
  std::atomic<int> calls{0};
  // Warm-up succeeds, every later build fails.
  auto pool =
      Pool::create(config(2, 1, Recycle::Fresh, 1), [&]() -> std::expected<Tracked, TestError> {
        if (calls.fetch_add(1) == 0) return Tracked(1, census);
        return std::unexpected(TestError::factory("no more"));
      });
  ASSERT_TRUE(pool.has_value());
  auto taken = pool->acquire();  // consumes the spare: refill keeps trying to rebuild it
  const int before = calls.load();
  std::this_thread::sleep_for(300ms);
  const int during = calls.load() - before;
  // Backoff 1, 2, 4, ... ms: about 8 attempts in 300 ms; a busy loop makes thousands.
  EXPECT_GE(during, 3);
  EXPECT_LE(during, 20);
  EXPECT_GE(pool->metrics()->factory_failures(), static_cast<std::uint64_t>(during));
  ASSERT_TRUE(pool->last_factory_error().has_value());
  EXPECT_EQ(pool->last_factory_error()->message, "no more");
  pool->release(std::move(*taken));
}

TEST(PoolLifecycle, DestructorStopsThreadsPromptlyAndDestroysIdleInstances) {
  Fixture f;
  std::thread([] {}).join();  // let a sanitizer start its own helper thread first
  const int threads_before = thread_count();
  PoolConfig c = config(4, 3, Recycle::Fresh, 2);
  c.idle_timeout = 1h;
  c.max_lifetime = 1h;
  c.acquire_timeout = 1h;
  std::optional<PooledInstance<Tracked, TestError>> held;
  {
    auto pool = Pool::create(c, f.factory());
    ASSERT_TRUE(pool.has_value());
    held.emplace(std::move(*pool->checkout()));
    EXPECT_EQ(thread_count(), threads_before + 3);  // 2 refill + reaper
    ASSERT_TRUE(eventually([&] { return pool->metrics()->idle() == 3; }));
    const auto t0 = std::chrono::steady_clock::now();
    pool = std::unexpected(TestError::factory("gone"));  // destroys the pool
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  }
  // Joined threads leave /proc/self/task a moment after join() returns.
  EXPECT_TRUE(eventually([&] { return thread_count() == threads_before; }))
      << thread_count() << " threads, " << threads_before << " before the pool";
  EXPECT_EQ(f.census.alive(), 1);  // only the held one
  held.reset();
  EXPECT_EQ(f.census.alive(), 0);
}

}  // namespace
}  // namespace warmpool::test
