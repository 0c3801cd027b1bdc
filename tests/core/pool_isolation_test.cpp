// Issue 3's isolation proof: instances carry mutable state that holders
// write. Under Fresh no holder ever sees another holder's writes; under Reset
// the same after reset; under Reuse state persists (the fast, non-isolating
// choice).
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace warmpool::test {
namespace {

constexpr int kThreads = 8;

// Each holder checks the instance is untouched, then marks it with its own
// token. Returns how many acquires succeeded.
std::uint64_t hammer(Pool& pool, int per_thread) {
  std::atomic<std::uint64_t> done{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::uint64_t token =
            (static_cast<std::uint64_t>(t) << 32) | static_cast<std::uint64_t>(i);
        auto process = [&](Tracked& inst) {
          Tracked::State& s = inst.state();
          EXPECT_EQ(s.counter, 0u) << "saw another holder's counter";
          EXPECT_TRUE(s.notes.empty()) << "saw another holder's write " << s.notes.front();
          s.counter += 1;
          s.notes.push_back(token);
          done.fetch_add(1, std::memory_order_relaxed);
        };
        if (i % 2 == 0) {
          auto h = pool.checkout();
          ASSERT_TRUE(h.has_value()) << h.error().message;
          process(**h);
        } else {
          auto a = pool.acquire();
          ASSERT_TRUE(a.has_value()) << a.error().message;
          process(*a);
          pool.release(std::move(*a));
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  return done.load();
}

PoolConfig config(Recycle r) {
  PoolConfig c;
  c.max_instances = 8;
  c.warm_count = 4;
  c.recycle = r;
  c.refill_threads = 2;
  c.acquire_timeout = std::chrono::seconds{10};
  return c;
}

TEST(PoolIsolation, FreshNoHolderSeesAnotherHoldersWrites) {
  Fixture f;
  auto pool = Pool::create(config(Recycle::Fresh), f.factory());
  ASSERT_TRUE(pool.has_value());
  const int per_thread = 100'000 / kThreads;  // >= 100,000 acquires in total
  EXPECT_EQ(hammer(*pool, per_thread), 100'000u);
  auto m = pool->metrics();
  EXPECT_GE(m->created(), 100'000u);  // one instance per acquire (plus spares)
  EXPECT_GT(m->hits(), 0u);           // spares were handed out warm
}

TEST(PoolIsolation, ResetNoHolderSeesAnotherHoldersWrites) {
  Fixture f;
  Lifecycle<Tracked> lc;
  lc.reset = [](Tracked& t) {
    t.state().counter = 0;
    t.state().notes.clear();
    return true;
  };
  auto pool = Pool::create(config(Recycle::Reset), f.factory(), lc);
  ASSERT_TRUE(pool.has_value());
  const int per_thread = 100'000 / kThreads;
  EXPECT_EQ(hammer(*pool, per_thread), 100'000u);
  EXPECT_LE(pool->metrics()->created(), 8u);  // and instances were reused
}

TEST(PoolIsolation, ReuseStatePersists) {
  Fixture f;
  PoolConfig c = config(Recycle::Reuse);
  c.max_instances = 1;
  c.warm_count = 1;
  auto pool = Pool::create(c, f.factory());
  for (int i = 0; i < 10; ++i) {
    auto h = pool->checkout();
    EXPECT_EQ((*h)->state().counter, static_cast<std::uint64_t>(i));
    (*h)->state().counter += 1;
  }
}

}  // namespace
}  // namespace warmpool::test
