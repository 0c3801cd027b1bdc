// Each live V8 instance has an isolate of its own, recycled from destroyed instances
// (src/wasm/v8/internal/isolate_set.hpp): a deadline, a trap or a host function stopping a
// call stops exactly that call, a spinning instance delays no other instance, host data stays
// with its instance while many threads call instances, and recycled isolates serve new
// instances of the same and of other modules.
//
// The tests make more instances than the old design's shared isolates (4 per hardware
// thread), which is where instances used to wait for each other.
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

namespace warmpool::wasm {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMoreThanTheIsolates = 20;

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

TEST(V8IsolatePerInstance, ADeadlineStopsOnlyItsOwnCallWhileOtherInstancesRun) {
  std::vector<Instance> instances = instances_of(kGuest, {.timeout = 300ms});
  std::atomic<bool> spinning{false}, stopped{false};
  std::expected<std::vector<Value>, WasmError> spun;
  std::thread spinner([&] {
    spinning = true;
    spun = instances[0].call("spin", {});
    stopped = true;
  });
  while (!spinning) std::this_thread::yield();
  // The other instances run meanwhile (each in its own isolate).
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

TEST(V8IsolatePerInstance, ATrapOrAHostStopLeavesTheOtherInstancesWorking) {
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

TEST(V8IsolatePerInstance, HostDataStaysWithItsInstanceWhenManyThreadsCallInstances) {
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
  // Each thread takes any free instance (a pool's checkout), so instances move between
  // threads and their isolates with them.
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

// The regression shared isolates caused: instances spinning until their deadline on many
// threads (more than twice the old design's 8 shared isolates) while another module's instance
// is called from another thread. Every spinning call ends near its deadline, not after the
// calls of instances it shared an isolate with, and the other module's calls go through while
// the spinners still spin.
TEST(V8IsolatePerInstance, SpinningInstancesDelayNeitherEachOtherNorAnotherModule) {
  constexpr std::size_t kSpinners = 20;
  constexpr auto kDeadline = 1s;
  auto spin_module =
      Module::compile(*Engine::named("v8"), as_bytes(kGuest), {.timeout = kDeadline}, "spin.wat");
  auto answer_module = Module::compile(*Engine::named("v8"), as_bytes(kLockstep), {}, "answer.wat");
  ASSERT_TRUE(spin_module) << spin_module.error();
  ASSERT_TRUE(answer_module) << answer_module.error();
  Linker linker;
  linker.define("env", "stop", [](Caller& caller) { caller.stop("by the test"); });
  linker.define("env", "bump", [](std::int32_t calls) { return calls; });
  auto spin_linked = linker.link(*spin_module);
  auto answer_linked = linker.link(*answer_module);
  ASSERT_TRUE(spin_linked) << spin_linked.error();
  ASSERT_TRUE(answer_linked) << answer_linked.error();
  std::vector<Instance> spinners;
  for (std::size_t i = 0; i < kSpinners; ++i)
    spinners.push_back(*Instance::instantiate(*spin_linked));
  Instance answerer = *Instance::instantiate(*answer_linked);

  std::atomic<std::size_t> started{0}, finished{0};
  std::vector<std::chrono::steady_clock::duration> took(kSpinners);
  std::vector<std::expected<std::vector<Value>, WasmError>> spun(kSpinners);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kSpinners; ++i) {
    threads.emplace_back([&, i] {
      ++started;
      const auto begin = std::chrono::steady_clock::now();
      spun[i] = spinners[i].call("spin", {});
      took[i] = std::chrono::steady_clock::now() - begin;
      ++finished;
    });
  }
  while (started < kSpinners) std::this_thread::yield();
  int answered = 0, answered_while_all_spin = 0, wrong = 0;
  while (finished < kSpinners) {
    auto r = answerer.call("bump", {});
    // Read after the call returned: it ended before any spinning call did.
    const bool all_still_spinning = finished.load() == 0;
    ++answered;
    if (!r || r->front() != Value{std::int32_t{answered}}) ++wrong;
    if (all_still_spinning) ++answered_while_all_spin;
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_GE(answered_while_all_spin, 1) << "the other module's calls waited for the spinners";
  for (std::size_t i = 0; i < kSpinners; ++i) {
    ASSERT_FALSE(spun[i]) << "spinner " << i;
    EXPECT_EQ(spun[i].error().kind(), ErrorKind::deadline) << spun[i].error();
    EXPECT_LT(took[i], 2 * kDeadline)
        << "spinner " << i << " took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took[i]).count() << " ms";
  }
}

// Two threads each call an instance whose host function calls into another instance,
// created so that each target would have shared an isolate with the other thread's outer
// instance under round-robin placement (which then needed deadlock detection). Now every
// target's isolate is its own: both nested calls go through.
constexpr std::string_view kNesting = R"((module
  (import "env" "call_peer" (func $call_peer (result i32)))
  (func (export "nest") (result i32) (call $call_peer))
  (func (export "answer") (result i32) (i32.const 42))))";

struct Peer {
  Instance* target = nullptr;
  std::barrier<>* both_are_in_their_call = nullptr;
};

TEST(V8IsolatePerInstance, NestedCallsIntoOtherInstancesNeverWaitForAnotherThread) {
  Linker linker;
  linker
      .define("env", "call_peer",
              [](Caller& caller) {
                Peer& peer = *caller.data<Peer>();
                peer.both_are_in_their_call->arrive_and_wait();
                auto r = peer.target->call("answer", {});
                if (!r) caller.stop(r.error().message());
                return r ? std::get<std::int32_t>(r->front()) : 0;
              })
      .host_data([] { return Peer{}; });
  auto module = Module::compile(*Engine::named("v8"), as_bytes(kNesting), {}, "nesting.wat");
  ASSERT_TRUE(module) << module.error();
  auto linked = linker.link(*module);
  ASSERT_TRUE(linked) << linked.error();
  // Round-robin over n isolates put instance k in isolate k mod n (n = 4 per hardware
  // thread): the outer instances 0 and n + 1 shared the isolates of each other's targets.
  const std::size_t n = 4 * std::max(1U, std::thread::hardware_concurrency());
  std::vector<Instance> created;
  for (std::size_t k = 0; k <= 2 * n; ++k) created.push_back(*Instance::instantiate(*linked));
  std::barrier<> both(2);
  *created[0].host_data<Peer>() = {&created[1], &both};
  *created[n + 1].host_data<Peer>() = {&created[2 * n], &both};

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
  std::thread a(run, std::ref(created[0]), std::ref(result_a));
  std::thread b(run, std::ref(created[n + 1]), std::ref(result_b));
  {
    std::unique_lock lock(mutex);
    if (!done.wait_for(lock, 60s, [&] { return finished == 2; })) {
      ADD_FAILURE() << "the two calls deadlocked";
      std::_Exit(1);  // the threads cannot be joined
    }
  }
  a.join();
  b.join();
  for (auto* result : {&result_a, &result_b}) {
    ASSERT_TRUE(*result) << result->error();
    EXPECT_EQ(**result, std::vector<Value>{std::int32_t{42}});
  }
}

// Instances come and go (a pool's replacements, the Fresh policy) for two modules at once,
// while one of the modules is compiled again: each new instance runs its own module's code
// in whatever recycled isolate it gets, and its memory starts fresh.
constexpr std::string_view kCounter = R"((module
  (memory (export "memory") 1)
  (func (export "count") (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.load (i32.const 0)))
  (func (export "answer") (result i32) (i32.const 7))))";

TEST(V8IsolatePerInstance, RecycledIsolatesServeNewInstancesOfEveryModuleFromScratch) {
  Linker linker;
  linker.define("env", "stop", [](Caller& caller) { caller.stop("by the test"); });
  std::atomic<int> failures{0};
  auto churn = [&](std::string_view wat, std::int32_t answer) {
    for (int round = 0; round < 20; ++round) {
      auto module = Module::compile(*Engine::named("v8"), as_bytes(wat), {}, "churn.wat");
      if (!module) {
        ++failures;
        continue;
      }
      auto linked = linker.link(*module);
      if (!linked) {
        ++failures;
        continue;
      }
      for (int i = 0; i < 10; ++i) {
        auto instance = Instance::instantiate(*linked);
        if (!instance) {
          ++failures;
          continue;
        }
        auto first = instance->call("answer", {});
        if (!first || first->front() != Value{answer}) ++failures;
        if (answer == 7) {
          auto count = instance->call("count", {});
          if (!count || count->front() != Value{std::int32_t{1}}) ++failures;
        }
      }
    }
  };
  std::thread other(churn, kGuest, 42);
  churn(kCounter, 7);
  other.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace warmpool::wasm
