// Per-instance host data on every engine, through an InstancePool: created with each
// instance, never shared, and gone after a Reset or Fresh recycle (kept under Reuse).
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "api_test_support.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/pool.hpp"

namespace warmpool::wasm {
namespace {

using testing::EngineTest;
using Pool = InstancePool<Instance, WasmError, InstanceLifecycle>;

class HostData : public EngineTest {};
WARMPOOL_ON_EVERY_ENGINE(HostData);

struct Session {
  int calls = 0;
  const void* owner = nullptr;  // the instance's memory, to catch data shared between instances
};

constexpr std::string_view kBump = R"((module
  (import "env" "bump" (func $bump (result i32)))
  (memory (export "memory") 1)
  (global $guest_calls (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $guest_calls (i32.add (global.get $guest_calls) (i32.const 1)))
    (i32.add (i32.mul (call $bump) (i32.const 1000)) (global.get $guest_calls)))))";

LinkedModule bump_module(Engine engine) {
  Linker linker;
  linker
      .define("env", "bump",
              [](Caller& caller) {
                Session& session = *caller.data<Session>();
                const void* memory = caller.memory().data().data();
                if (session.owner != nullptr && session.owner != memory) {
                  caller.stop("host data seen by another instance");
                }
                session.owner = memory;
                return ++session.calls;
              })
      .host_data([] { return Session{}; });
  return *linker.link(*Module::compile(engine, testing::as_bytes(kBump)));
}

// What "bump" returns on each of five checkouts of a one-instance pool: host calls * 1000 +
// guest calls, both counted since the data and the guest state were last created.
std::vector<int> five_checkouts(const LinkedModule& linked, Recycle recycle) {
  auto pool = Pool::create({.max_instances = 1,
                            .recycle = recycle,
                            // wait for the instance being rebuilt (Fresh, or a Reset that
                            // cannot restore in place) instead of failing at capacity
                            .acquire_timeout = std::chrono::seconds(30)},
                           [linked] { return Instance::instantiate(linked); });
  EXPECT_TRUE(pool) << pool.error();
  std::vector<int> seen;
  for (int i = 0; i < 5; ++i) {
    auto instance = pool->checkout();
    if (!instance) {
      ADD_FAILURE() << instance.error();
      seen.push_back(-1);
      continue;
    }
    auto r = (*instance)->call("bump", {});
    EXPECT_TRUE(r) << r.error();
    seen.push_back(r ? std::get<std::int32_t>(r->front()) : -1);
  }
  return seen;
}

TEST_P(HostData, IsolatedPerInstanceAndRecycledWithTheGuestState) {
  LinkedModule linked = bump_module(engine());
  EXPECT_EQ(five_checkouts(linked, Recycle::Reuse),
            (std::vector<int>{1001, 2002, 3003, 4004, 5005}));
  EXPECT_EQ(five_checkouts(linked, Recycle::Reset),
            (std::vector<int>{1001, 1001, 1001, 1001, 1001}));
  EXPECT_EQ(five_checkouts(linked, Recycle::Fresh),
            (std::vector<int>{1001, 1001, 1001, 1001, 1001}));
}

// A type that cannot be copied is recreated by its factory on every reset.
TEST_P(HostData, MoveOnlyDataIsRecreatedOnReset) {
  struct Counter {
    std::unique_ptr<int> calls = std::make_unique<int>(0);
  };
  Linker linker;
  linker.define("env", "bump", [](Caller& caller) { return ++*caller.data<Counter>()->calls; })
      .host_data([] { return Counter{}; });
  auto linked = linker.link(*Module::compile(engine(), testing::as_bytes(kBump)));
  ASSERT_TRUE(linked) << linked.error();
  auto instance = Instance::instantiate(*linked);
  ASSERT_TRUE(instance) << instance.error();
  EXPECT_EQ(instance->call("bump", {}).value(), std::vector<Value>{1001});
  EXPECT_EQ(instance->call("bump", {}).value(), std::vector<Value>{2002});
  ASSERT_TRUE(instance->reset());
  EXPECT_EQ(*instance->host_data<Counter>()->calls, 0);
  EXPECT_EQ(instance->call("bump", {}).value(), std::vector<Value>{1001});
}

TEST_P(HostData, NeverSharedBetweenInstancesOnManyThreads) {
  LinkedModule linked = bump_module(engine());
  auto pool = Pool::create({.max_instances = 4, .recycle = Recycle::Reuse},
                           [linked] { return Instance::instantiate(linked); });
  ASSERT_TRUE(pool) << pool.error();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto instance = pool->checkout();
        if (!instance) {
          ++failures;
          continue;
        }
        auto r = (*instance)->call("bump", {});
        // Host and guest counters advance together only if the data is the instance's own.
        const int value = r ? std::get<std::int32_t>(r->front()) : -1;
        if (value / 1000 != value % 1000) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace warmpool::wasm
