// Instance::bind_to_this_thread and warmpool::wasm::checkout_bound on every engine (wabt: the
// binding changes nothing but is legal and checked the same way): calls inside a binding, calls
// and bindings from other threads refused, the misuse V8 cannot survive stopping the process
// with a message, and 8 threads taking bound checkouts of one pool.
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_test_support.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/pool.hpp"

namespace warmpool::wasm {
namespace {

using namespace std::chrono_literals;
using testing::EngineTest;
using Pool = InstancePool<Instance, WasmError, InstanceLifecycle>;

constexpr std::string_view kGuest = R"((module
  (import "env" "visit" (func $visit (param i32) (result i32)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "visit") (param i32) (result i32) (call $visit (local.get 0))))
)";

// Per-instance host data; plain counters, so two threads inside one instance at once would be
// a data race that ThreadSanitizer reports.
struct Visits {
  int calls = 0;
  bool in_use = false;
};

class ApiThreadBinding : public EngineTest {
 protected:
  LinkedModule guest() {
    Linker linker;
    linker.host_data([] { return Visits{}; });
    linker.define("env", "visit", [](Caller& caller, std::int32_t x) {
      ++caller.data<Visits>()->calls;
      return x + 1;
    });
    return link(linker, compile(kGuest, {}, "bound.wat"));
  }

  static TypedFunction<std::int32_t(std::int32_t)> fib_of(const Instance& instance) {
    auto fib = instance.module().typed<std::int32_t(std::int32_t)>("fib");
    if (!fib) throw std::runtime_error(fib.error().message());
    return *fib;
  }
};
WARMPOOL_ON_EVERY_ENGINE(ApiThreadBinding);

TEST_P(ApiThreadBinding, CallsInsideANestedBindingAndAfterItOnAnotherThread) {
  Instance instance = instantiate(guest());
  const auto fib = fib_of(instance);
  {
    auto outer = instance.bind_to_this_thread();
    ASSERT_TRUE(outer) << outer.error().message();
    EXPECT_EQ(instance.call(fib, 10).value(), 55);
    {
      auto inner = instance.bind_to_this_thread();
      ASSERT_TRUE(inner) << inner.error().message();
      EXPECT_EQ(instance.call("visit", std::vector<Value>{std::int32_t{1}})->at(0), Value{2});
    }
    EXPECT_EQ(instance.call(fib, 11).value(), 89);  // still bound by `outer`
    auto moved = std::move(*outer);                 // a binding moves within its thread
    EXPECT_TRUE(instance.memory().data().empty());
    EXPECT_TRUE(instance.reset());
  }
  // Unbound: the instance moves to another thread.
  std::thread([&] { EXPECT_EQ(instance.call(fib, 12).value(), 144); }).join();
}

// V8 makes an exited isolate's predecessor current again, so bindings of two instances ended
// first-made first must not leave a departed isolate current on the thread.
TEST_P(ApiThreadBinding, BindingsOfTwoInstancesEndInEitherOrder) {
  const LinkedModule linked = guest();
  Instance first = instantiate(linked);
  Instance second = instantiate(linked);
  const auto fib = fib_of(first);
  for (const bool first_made_first : {true, false}) {
    std::optional<Instance::ThreadBinding> a(first.bind_to_this_thread().value());
    std::optional<Instance::ThreadBinding> b(second.bind_to_this_thread().value());
    EXPECT_EQ(first.call(fib, 10).value(), 55);
    EXPECT_EQ(second.call(fib, 11).value(), 89);
    if (first_made_first)
      a.reset();
    else
      b.reset();
    EXPECT_EQ(first.call(fib, 12).value(), 144);
    EXPECT_EQ(second.call("visit", std::vector<Value>{std::int32_t{1}})->at(0), Value{2});
    a.reset();
    b.reset();
    EXPECT_EQ(first.call(fib, 13).value(), 233);
    EXPECT_EQ(second.call(fib, 14).value(), 377);
  }
  // Both unbound: each moves to another thread.
  std::thread([&] {
    EXPECT_EQ(first.call(fib, 6).value(), 8);
    EXPECT_EQ(second.call(fib, 7).value(), 13);
  }).join();
}

TEST_P(ApiThreadBinding, OtherThreadsAreRefusedWhileBoundAndServedAfter) {
  Instance instance = instantiate(guest());
  const auto fib = fib_of(instance);
  std::optional<Instance::ThreadBinding> binding;
  binding.emplace(instance.bind_to_this_thread().value());
  std::thread([&] {
    auto refused = instance.call(fib, 5);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), ErrorKind::abi);
    EXPECT_EQ(refused.error().message(),
              "bound.wat: fib: instance is bound to another thread "
              "(Instance::bind_to_this_thread); call it there, or end the binding first");
    auto by_name = instance.call("fib", std::vector<Value>{std::int32_t{5}});
    ASSERT_FALSE(by_name);
    EXPECT_EQ(by_name.error().kind(), ErrorKind::abi);
    auto second = instance.bind_to_this_thread();
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().message(),
              "bound.wat: cannot bind the instance to this thread: it is bound to another thread");
  }).join();
  EXPECT_TRUE(instance.healthy());
  EXPECT_EQ(instance.call(fib, 5).value(), 5);
  binding.reset();
  std::thread([&] {
    auto bound_there = instance.bind_to_this_thread();
    ASSERT_TRUE(bound_there) << bound_there.error().message();
    EXPECT_EQ(instance.call(fib, 6).value(), 8);
  }).join();
}

TEST_P(ApiThreadBinding, MisuseThatV8CannotSurviveStopsTheProcessWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const LinkedModule linked = guest();
  EXPECT_DEATH(
      {
        Instance instance = instantiate(linked);
        auto binding = instance.bind_to_this_thread();
        std::thread([moved = std::move(*binding)] {}).join();
      },
      "bound.wat: a thread binding ended on another thread than the one it binds to");
  EXPECT_DEATH(
      {
        Instance instance = instantiate(linked);
        auto binding = instance.bind_to_this_thread();
        Instance gone = std::move(instance);
      },
      "bound.wat: instance destroyed while bound to a thread");
  EXPECT_DEATH(
      {
        Instance instance = instantiate(linked);
        auto binding = instance.bind_to_this_thread();
        std::thread([&] { (void)instance.reset(); }).join();
      },
      "bound.wat: reset\\(\\) from another thread than the one the instance is bound to");
  EXPECT_DEATH(
      {
        auto pool =
            Pool::create({.max_instances = 1}, [linked] { return Instance::instantiate(linked); });
        auto held = checkout_bound(*pool);
        std::thread([moved = std::move(*held)] {}).join();
      },
      "a bound pool checkout must be released on the thread that took it");
}

TEST_P(ApiThreadBinding, InstanceGivenBackWhileBoundIsRefusedToOtherThreads) {
  const LinkedModule linked = guest();
  auto pool = Pool::create({.max_instances = 1, .warm_count = 1},
                           [linked] { return Instance::instantiate(linked); });
  ASSERT_TRUE(pool);
  auto checkout = pool->checkout();
  ASSERT_TRUE(checkout);
  std::optional<Instance::ThreadBinding> binding;
  binding.emplace(checkout->get().bind_to_this_thread().value());
  { auto given_back = std::move(*checkout); }  // misuse: back to the pool, still bound here
  std::thread([&] {
    auto held = checkout_bound(*pool);
    ASSERT_FALSE(held);
    EXPECT_NE(held.error().message().find("bound to another thread"), std::string::npos);
  }).join();
  binding.reset();
}

// 8 threads take bound checkouts of a 4-instance pool and call a host function that counts in
// the instance's host data: every call succeeds, no instance is held by two threads at once,
// and the counts add up.
TEST_P(ApiThreadBinding, EightThreadsTakingBoundCheckoutsOfOnePool) {
  const LinkedModule linked = guest();
  constexpr int kThreads = 8, kCheckoutsPerThread = 200, kCallsPerCheckout = 5;
  auto pool = Pool::create({.max_instances = 4, .warm_count = 4, .acquire_timeout = 30s},
                           [linked] { return Instance::instantiate(linked); });
  ASSERT_TRUE(pool) << pool.error().message();
  std::atomic<int> failures{0}, shared{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int c = 0; c < kCheckoutsPerThread; ++c) {
        auto held = checkout_bound(*pool);
        if (!held) {
          ++failures;
          continue;
        }
        Instance& instance = (*held).get();
        Visits& visits = *instance.host_data<Visits>();
        if (std::exchange(visits.in_use, true)) ++shared;
        for (int i = 0; i < kCallsPerCheckout; ++i) {
          auto r = instance.call("visit", std::vector<Value>{std::int32_t{i}});
          if (!r || r->at(0) != Value{i + 1}) ++failures;
        }
        visits.in_use = false;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(shared.load(), 0);
  std::vector<PooledInstance<Instance, WasmError, InstanceLifecycle>> all;
  int calls = 0;
  for (int i = 0; i < 4; ++i) {
    auto checkout = pool->checkout();
    ASSERT_TRUE(checkout) << checkout.error().message();
    calls += checkout->get().host_data<Visits>()->calls;
    all.push_back(std::move(*checkout));
  }
  EXPECT_EQ(calls, kThreads * kCheckoutsPerThread * kCallsPerCheckout);
}

}  // namespace
}  // namespace warmpool::wasm
