// Issue 17: a lifecycle given as a type behaves exactly like the type-erased
// Lifecycle<T> with the same hooks, for every hook, every subset of hooks,
// every Recycle policy, both return paths, with and without use limits and
// idle timeout (which route releases through different paths). The
// typed form compiles absent hooks out and calls present ones inline, which
// must change nothing a caller can observe.
#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "test_support.hpp"

namespace warmpool::test {
namespace {

// What the hooks saw; shared by both forms of one scenario's lifecycle.
struct HookLog {
  std::atomic<int> health_calls{0};
  std::atomic<int> reset_calls{0};
  std::atomic<int> destroy_calls{0};
  bool reset_succeeds = true;
  bool hooks_throw = false;
};

bool check_health(const HookLog& log, const Tracked& t) {
  const_cast<HookLog&>(log).health_calls++;
  if (log.hooks_throw) throw std::runtime_error("is_healthy threw");
  return t.state().healthy;
}
bool do_reset(const HookLog& log, Tracked& t) {
  const_cast<HookLog&>(log).reset_calls++;
  if (log.hooks_throw) throw std::runtime_error("reset threw");
  t.state().counter = 0;
  return log.reset_succeeds;
}
void note_destroy(const HookLog& log, Tracked&) {
  const_cast<HookLog&>(log).destroy_calls++;
  if (log.hooks_throw) throw std::runtime_error("on_destroy threw");
}

// Bit flags: which hooks a scenario's lifecycle has.
enum HookSet : unsigned { kHealth = 1, kReset = 2, kDestroy = 4, kAllHooks = 7 };

// The typed form: each hook declared only when asked for (a member whose
// constraint fails does not exist for the pool).
template <unsigned Hooks>
struct TypedHooks {
  HookLog* log;
  bool is_healthy(const Tracked& t) const requires((Hooks & kHealth) != 0) {
    return check_health(*log, t);
  }
  bool reset(Tracked& t) const requires((Hooks & kReset) != 0) { return do_reset(*log, t); }
  void on_destroy(Tracked& t) const requires((Hooks & kDestroy) != 0) { note_destroy(*log, t); }
};

static_assert(PoolLifecycle<TypedHooks<0>, Tracked>, "a type without hooks is a lifecycle");
static_assert(PoolLifecycle<NoHooks, Tracked>);
static_assert(PoolLifecycle<TypedHooks<kAllHooks>, Tracked>);
static_assert(PoolLifecycle<Lifecycle<Tracked>, Tracked>);
struct StaticHooks {
  static bool is_healthy(const Tracked&) noexcept { return true; }
  static bool reset(Tracked&) { return true; }
};
static_assert(PoolLifecycle<StaticHooks, Tracked>);
// A templated hook counts when it can be called as the pool calls it.
struct TemplatedHealthCheck {
  template <class U>
  static bool is_healthy(const U&) noexcept {
    return true;
  }
};
static_assert(PoolLifecycle<TemplatedHealthCheck, Tracked>);
static_assert(internal::LifecycleHooks<TemplatedHealthCheck, Tracked>::kHealth ==
              internal::HookKind::always);
static_assert(internal::LifecycleHooks<TypedHooks<kHealth>, Tracked>::kReset ==
              internal::HookKind::absent);
static_assert(internal::LifecycleHooks<Lifecycle<Tracked>, Tracked>::kHealth ==
              internal::HookKind::when_set);
// A hook with the wrong signature is an error, not a hook the pool ignores.
struct MutatingHealthCheck {
  bool is_healthy(Tracked&) const { return true; }
};
static_assert(!PoolLifecycle<MutatingHealthCheck, Tracked>);
struct NonConstReset {
  bool reset(Tracked&) { return true; }
};
static_assert(!PoolLifecycle<NonConstReset, Tracked>);
struct ResetReturningNothing {
  void reset(Tracked&) const {}
};
static_assert(!PoolLifecycle<ResetReturningNothing, Tracked>);

template <unsigned Hooks>
struct TypedForm {
  using Lifecycle = TypedHooks<Hooks>;
  static Lifecycle make(HookLog& log) { return Lifecycle{&log}; }
};

template <unsigned Hooks>
struct ErasedForm {
  using Lifecycle = warmpool::Lifecycle<Tracked>;
  static Lifecycle make(HookLog& log) {
    Lifecycle lc;
    if (Hooks & kHealth) lc.is_healthy = [&log](const Tracked& t) { return check_health(log, t); };
    if (Hooks & kReset) lc.reset = [&log](Tracked& t) { return do_reset(log, t); };
    if (Hooks & kDestroy) lc.on_destroy = [&log](Tracked& t) { note_destroy(log, t); };
    return lc;
  }
};

struct Scenario {
  Recycle recycle;
  bool handles;       // checkout() handles, else acquire()/release()
  bool limits;        // max_uses = 3
  bool idle_timeout;  // set (never reached): releases stamp, the plain paths step aside
  bool reset_fails;   // the reset hook returns false
  bool hooks_throw;
};

std::ostream& operator<<(std::ostream& os, const Scenario& s) {
  return os << "recycle " << static_cast<int>(s.recycle) << ", handles " << s.handles << ", limits "
            << s.limits << ", idle timeout " << s.idle_timeout << ", reset fails " << s.reset_fails
            << ", hooks throw " << s.hooks_throw;
}

// Everything a caller can observe of a run.
struct Outcome {
  std::vector<std::uint64_t> ids;       // instance handed out per round
  std::vector<std::uint64_t> counters;  // its counter when handed out
  int health_calls, reset_calls, destroy_calls;
  std::uint64_t created, destroyed, discarded, hits, misses;
  std::int64_t alive_after_pool;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "ids";
  for (auto id : o.ids) os << ' ' << id;
  os << "; counters";
  for (auto c : o.counters) os << ' ' << c;
  return os << "; calls health " << o.health_calls << " reset " << o.reset_calls << " destroy "
            << o.destroy_calls << "; created " << o.created << " destroyed " << o.destroyed
            << " discarded " << o.discarded << " hits " << o.hits << " misses " << o.misses
            << "; alive after " << o.alive_after_pool;
}

// Eight rounds on one thread; round 3's instance is marked unhealthy. No
// refill thread, so which instance comes next is deterministic.
template <class Form>
Outcome run(const Scenario& sc) {
  Fixture f;
  HookLog log;
  log.reset_succeeds = !sc.reset_fails;
  log.hooks_throw = sc.hooks_throw;
  PoolConfig c = config(2, 1, sc.recycle);
  if (sc.limits) c.max_uses = 3;
  if (sc.idle_timeout) c.idle_timeout = std::chrono::hours{1};
  Outcome o{};
  {
    auto pool = InstancePool<Tracked, TestError, typename Form::Lifecycle>::create(c, f.factory(),
                                                                                   Form::make(log));
    EXPECT_TRUE(pool.has_value());
    if (!pool) return o;
    for (int round = 0; round < 8; ++round) {
      auto use = [&](Tracked& t) {
        o.ids.push_back(t.id());
        o.counters.push_back(t.state().counter);
        t.state().counter = 7;
        if (round == 3) t.state().healthy = false;
      };
      if (sc.handles) {
        auto h = pool->checkout();
        EXPECT_TRUE(h.has_value());
        if (h) use(**h);
      } else {
        auto a = pool->acquire();
        EXPECT_TRUE(a.has_value());
        if (!a) continue;
        use(*a);
        pool->release(std::move(*a));
      }
    }
    const auto m = pool->metrics();
    o.created = m->created();
    o.hits = m->hits();
    o.misses = m->misses();
    o.discarded = m->discarded();
    o.destroyed = m->destroyed();
  }
  o.health_calls = log.health_calls.load();
  o.reset_calls = log.reset_calls.load();
  o.destroy_calls = log.destroy_calls.load();
  o.alive_after_pool = f.census.alive();
  return o;
}

template <unsigned Hooks>
void expect_same_for_every_scenario() {
  for (const Recycle recycle : {Recycle::Reuse, Recycle::Reset, Recycle::Fresh}) {
    for (const bool handles : {false, true}) {
      for (const int options : {0, 1, 2, 3}) {
        const bool limits = (options & 1) != 0, idle_timeout = (options & 2) != 0;
        for (const bool reset_fails : {false, true}) {
          for (const bool hooks_throw : {false, true}) {
            const Scenario sc{recycle, handles, limits, idle_timeout, reset_fails, hooks_throw};
            SCOPED_TRACE(testing::Message() << "hooks " << Hooks << ", " << sc);
            const Outcome typed = run<TypedForm<Hooks>>(sc);
            const Outcome erased = run<ErasedForm<Hooks>>(sc);
            EXPECT_EQ(typed, erased);
            EXPECT_EQ(typed.alive_after_pool, 0);
            // Each hook runs only when it exists (and, for reset, under Reset).
            if ((Hooks & kHealth) == 0) {
              EXPECT_EQ(typed.health_calls, 0);
            }
            if ((Hooks & kReset) == 0 || recycle != Recycle::Reset) {
              EXPECT_EQ(typed.reset_calls, 0);
            }
            if ((Hooks & kDestroy) != 0) {
              // Every instance the pool built, the pool destroyed (alive is 0).
              EXPECT_EQ(static_cast<std::uint64_t>(typed.destroy_calls), typed.created);
            } else {
              EXPECT_EQ(typed.destroy_calls, 0);
            }
          }
        }
      }
    }
  }
}

TEST(PoolLifecycleForms, TypedAndErasedBehaveTheSameForEverySubsetOfHooks) {
  [&]<unsigned... Hooks>(std::integer_sequence<unsigned, Hooks...>) {
    (expect_same_for_every_scenario<Hooks>(), ...);
  }
  (std::make_integer_sequence<unsigned, kAllHooks + 1>{});
}

// The same rules, spelled out once per form.
template <class Form>
class PoolLifecycleEachForm : public testing::Test {};
using Forms = testing::Types<TypedForm<kAllHooks>, ErasedForm<kAllHooks>>;
TYPED_TEST_SUITE(PoolLifecycleEachForm, Forms);

TYPED_TEST(PoolLifecycleEachForm, UnhealthyInstanceIsDestroyedOnBothReturnPaths) {
  Fixture f;
  HookLog log;
  auto pool = InstancePool<Tracked, TestError, typename TypeParam::Lifecycle>::create(
      config(2, 1), f.factory(), TypeParam::make(log));
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  a->state().healthy = false;
  pool->release(std::move(*a));
  {
    auto h = pool->checkout();
    (*h)->state().healthy = false;
  }
  EXPECT_EQ(pool->metrics()->discarded(), 2u);
  EXPECT_EQ(log.destroy_calls.load(), 2);
  EXPECT_EQ(f.census.alive(), 0);
}

TYPED_TEST(PoolLifecycleEachForm, ResetRestoresStateAndAFailedResetDestroys) {
  Fixture f;
  HookLog log;
  auto pool = InstancePool<Tracked, TestError, typename TypeParam::Lifecycle>::create(
      config(1, 1, Recycle::Reset), f.factory(), TypeParam::make(log));
  ASSERT_TRUE(pool.has_value());
  std::uint64_t first = 0;
  {
    auto h = pool->checkout();
    first = (*h)->id();
    (*h)->state().counter = 5;
  }
  {
    auto h = pool->checkout();
    EXPECT_EQ((*h)->id(), first);
    EXPECT_EQ((*h)->state().counter, 0u);
    log.reset_succeeds = false;
  }
  EXPECT_EQ(pool->metrics()->discarded(), 1u);
  auto h = pool->checkout();
  EXPECT_NE((*h)->id(), first);
}

TYPED_TEST(PoolLifecycleEachForm, ThrowingHooksCountAsFailingAndNeverEscape) {
  Fixture f;
  HookLog log;
  log.hooks_throw = true;
  {
    auto pool = InstancePool<Tracked, TestError, typename TypeParam::Lifecycle>::create(
        config(1, 1, Recycle::Reset), f.factory(), TypeParam::make(log));
    ASSERT_TRUE(pool.has_value());
    { auto h = pool->checkout(); }
    EXPECT_EQ(pool->metrics()->discarded(), 1u);
    EXPECT_EQ(log.health_calls.load(), 1);
  }
  EXPECT_EQ(f.census.alive(), 0);
}

TYPED_TEST(PoolLifecycleEachForm, OnDestroyRunsOnceForEveryInstanceThePoolDestroys) {
  Fixture f;
  HookLog log;
  PoolConfig c = config(3, 2, Recycle::Fresh);
  {
    auto pool = InstancePool<Tracked, TestError, typename TypeParam::Lifecycle>::create(
        c, f.factory(), TypeParam::make(log));
    ASSERT_TRUE(pool.has_value());
    for (int i = 0; i < 4; ++i) auto h = pool->checkout();
    pool->checkout()->discard();
  }  // the pool's own idle instances too
  EXPECT_EQ(log.destroy_calls, f.census.built.load());
  EXPECT_EQ(f.census.alive(), 0);
}

// A stateless lifecycle type costs the pool no storage and needs no object.
TEST(PoolLifecycleForms, StatelessTypedLifecycleNeedsNoObject) {
  Fixture f;
  auto pool = InstancePool<Tracked, TestError, StaticHooks>::create(config(1, 1, Recycle::Reset),
                                                                    f.factory());
  ASSERT_TRUE(pool.has_value());
  auto a = pool->acquire();
  ASSERT_TRUE(a.has_value());
  pool->release(std::move(*a));
  PooledInstance<Tracked, TestError, StaticHooks> h = std::move(*pool->checkout());
  EXPECT_TRUE(static_cast<bool>(h));
  EXPECT_EQ(pool->metrics()->hits(), 2u);
}

}  // namespace
}  // namespace warmpool::test
