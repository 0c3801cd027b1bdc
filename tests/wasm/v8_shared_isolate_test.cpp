// V8 instances share a few isolates (src/wasm/v8/internal/isolate_set.hpp): a deadline, a trap
// or a host function stopping a call stops exactly that call, never one of another instance
// of the same isolate, and host data stays with its instance while many threads call
// instances of the same isolates.
//
// The tests make more instances than the set has isolates (at most 64), so some instances
// share an isolate whatever the machine; they need not know which.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "warmpool/wasm/wasm.hpp"

namespace warmpool::wasm::v8::internal {
// How many isolates the set holds (src/wasm/v8/internal/isolate_set.hpp); instances are
// placed round-robin over them in the order they are created.
std::size_t shared_isolate_count();
}  // namespace warmpool::wasm::v8::internal

namespace warmpool::wasm {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMoreThanTheIsolates = 65;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

constexpr std::string_view kGuest = R"((module
  (import "env" "stop" (func $stop))
  (func (export "spin") (loop $again (br $again)))
  (func (export "trap") unreachable)
  (func (export "stop") (call $stop))
  (func (export "answer") (result i32) (i32.const 42))))";

std::vector<Instance> instances_of(std::string_view wat, const Limits& limits) {
  auto module = Module::compile(*Engine::named("v8"), as_bytes(wat), limits, "guest.wat");
  EXPECT_TRUE(module) << module.error();
  Linker linker;
  linker.define("env", "stop", [](Caller& caller) { caller.stop("by the test"); });
  auto linked = linker.link(*module);
  EXPECT_TRUE(linked) << linked.error();
  std::vector<Instance> instances;
  for (std::size_t i = 0; i < kMoreThanTheIsolates; ++i) {
    auto instance = Instance::instantiate(*linked);
    EXPECT_TRUE(instance) << instance.error();
    instances.push_back(std::move(*instance));
  }
  return instances;
}

// Every instance but the first answers; returns how many did not.
int wrong_answers(std::vector<Instance>& instances) {
  int wrong = 0;
  for (std::size_t i = 1; i < instances.size(); ++i) {
    auto r = instances[i].call("answer", {});
    if (!r || r->front() != Value{std::int32_t{42}}) ++wrong;
  }
  return wrong;
}

TEST(V8SharedIsolate, ADeadlineStopsOnlyItsOwnCallWhileOtherInstancesRun) {
  std::vector<Instance> instances = instances_of(kGuest, {.timeout = 300ms});
  std::atomic<bool> spinning{false}, stopped{false};
  std::expected<std::vector<Value>, WasmError> spun;
  std::thread spinner([&] {
    spinning = true;
    spun = instances[0].call("spin", {});
    stopped = true;
  });
  while (!spinning) std::this_thread::yield();
  // Instances of the spinner's isolate wait for its call to end; the others run meanwhile.
  // None may be stopped by the spinner's deadline.
  int rounds = 0, wrong = 0;
  do {
    wrong += wrong_answers(instances);
    ++rounds;
  } while (!stopped);
  spinner.join();
  ASSERT_FALSE(spun);
  EXPECT_EQ(spun.error().kind(), ErrorKind::deadline) << spun.error();
  EXPECT_FALSE(instances[0].healthy());
  EXPECT_EQ(wrong, 0) << "in " << rounds << " rounds";
  EXPECT_EQ(wrong_answers(instances), 0);
}

TEST(V8SharedIsolate, ATrapOrAHostStopLeavesTheOtherInstancesOfItsIsolateWorking) {
  for (std::string_view failing : {"trap", "stop"}) {
    std::vector<Instance> instances = instances_of(kGuest, {});
    auto r = instances[0].call(failing, {});
    ASSERT_FALSE(r) << failing;
    EXPECT_EQ(r.error().kind(), ErrorKind::trap) << r.error();
    EXPECT_FALSE(instances[0].healthy());
    EXPECT_EQ(wrong_answers(instances), 0) << "after " << failing;
    EXPECT_EQ(wrong_answers(instances), 0) << "twice after " << failing;
  }
}

// Guest and host count the calls of an instance in lockstep: the host function gets the
// guest's count and compares it with the count in the instance's host data.
constexpr std::string_view kLockstep = R"((module
  (import "env" "bump" (func $bump (param i32) (result i32)))
  (global $calls (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $bump (global.get $calls)))))";

struct Calls {
  int count = 0;
};

TEST(V8SharedIsolate, HostDataStaysWithItsInstanceWhenManyThreadsShareTheIsolates) {
  Linker linker;
  linker
      .define("env", "bump",
              [](Caller& caller, std::int32_t guest_calls) {
                Calls& calls = *caller.data<Calls>();
                if (++calls.count != guest_calls) caller.stop("host data of another instance");
                return calls.count;
              })
      .host_data([] { return Calls{}; });
  auto module = Module::compile(*Engine::named("v8"), as_bytes(kLockstep), {}, "lockstep.wat");
  ASSERT_TRUE(module) << module.error();
  auto linked = linker.link(*module);
  ASSERT_TRUE(linked) << linked.error();
  std::vector<Instance> instances;
  for (std::size_t i = 0; i < kMoreThanTheIsolates; ++i) {
    instances.push_back(*Instance::instantiate(*linked));
  }
  // Each thread takes any free instance (a pool's checkout), so threads often call instances
  // of the same isolate at the same time.
  std::vector<std::atomic<bool>> busy(instances.size());
  std::vector<std::atomic<int>> expected(instances.size());
  std::atomic<int> failures{0};
  constexpr int kThreads = 8, kCallsPerThread = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::minstd_rand random(static_cast<unsigned>(t) + 1);
      for (int done = 0; done < kCallsPerThread;) {
        const std::size_t i = random() % instances.size();
        if (busy[i].exchange(true, std::memory_order_acquire)) continue;
        auto r = instances[i].call("bump", {});
        const int count = expected[i].fetch_add(1, std::memory_order_relaxed) + 1;
        if (!r || r->front() != Value{std::int32_t{count}}) ++failures;
        busy[i].store(false, std::memory_order_release);
        ++done;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  int total = 0;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    EXPECT_EQ(instances[i].host_data<Calls>()->count, expected[i].load()) << "instance " << i;
    total += expected[i].load();
  }
  EXPECT_EQ(total, kThreads * kCallsPerThread);
}

// Two threads each call an instance whose host function calls into an instance of the
// other thread's isolate: each holds one isolate and waits for the other's. Instead of a
// deadlock, at least one nested call is refused, which stops its outer call with the reason.
constexpr std::string_view kNesting = R"((module
  (import "env" "call_peer" (func $call_peer (result i32)))
  (func (export "nest") (result i32) (call $call_peer))
  (func (export "answer") (result i32) (i32.const 42))))";

struct Peer {
  Instance* target = nullptr;
  std::barrier<>* both_hold_their_isolate = nullptr;
};

TEST(V8SharedIsolate, CallsIntoEachOthersIsolateAreRefusedInsteadOfDeadlocking) {
  Linker linker;
  linker
      .define("env", "call_peer",
              [](Caller& caller) {
                Peer& peer = *caller.data<Peer>();
                peer.both_hold_their_isolate->arrive_and_wait();
                auto r = peer.target->call("answer", {});
                if (!r) caller.stop(r.error().message());
                return r ? std::get<std::int32_t>(r->front()) : 0;
              })
      .host_data([] { return Peer{}; });
  auto module = Module::compile(*Engine::named("v8"), as_bytes(kNesting), {}, "nesting.wat");
  ASSERT_TRUE(module) << module.error();
  auto linked = linker.link(*module);
  ASSERT_TRUE(linked) << linked.error();
  // Created in sequence, instance k lives in isolate (first + k) mod n: the outer instances
  // (0 and n + 1) sit in the isolates of each other's targets (2n and 1).
  const std::size_t n = v8::internal::shared_isolate_count();
  std::vector<Instance> created;
  for (std::size_t k = 0; k <= 2 * n; ++k) created.push_back(*Instance::instantiate(*linked));
  Instance& outer_a = created[0];
  Instance& target_a = created[1];
  Instance& outer_b = created[n + 1];
  Instance& target_b = created[2 * n];
  std::barrier<> both(2);
  *outer_a.host_data<Peer>() = {&target_a, &both};
  *outer_b.host_data<Peer>() = {&target_b, &both};

  std::mutex mutex;
  std::condition_variable done;
  int finished = 0;
  std::expected<std::vector<Value>, WasmError> result_a, result_b;
  auto run = [&](Instance& outer, std::expected<std::vector<Value>, WasmError>& result) {
    result = outer.call("nest", {});
    std::lock_guard lock(mutex);
    ++finished;
    done.notify_one();
  };
  std::thread a(run, std::ref(outer_a), std::ref(result_a));
  std::thread b(run, std::ref(outer_b), std::ref(result_b));
  {
    std::unique_lock lock(mutex);
    if (!done.wait_for(lock, 60s, [&] { return finished == 2; })) {
      ADD_FAILURE() << "the two calls deadlocked";
      std::_Exit(1);  // the threads cannot be joined
    }
  }
  a.join();
  b.join();
  int refused = 0;
  for (auto* result : {&result_a, &result_b}) {
    if (*result) {
      EXPECT_EQ(**result, std::vector<Value>{std::int32_t{42}});
    } else {
      EXPECT_NE(result->error().message().find("would deadlock"), std::string::npos)
          << result->error();
      ++refused;
    }
  }
  EXPECT_GE(refused, 1);
}

}  // namespace
}  // namespace warmpool::wasm
