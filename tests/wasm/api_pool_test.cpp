// Instances of every engine in a warmpool::InstancePool shared by 4 threads that mix good calls
// with hostile ones: no good call may ever see a poisoned or damaged instance, and Reset or
// Fresh recycling undoes what the last user left behind.
#include <atomic>
#include <chrono>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_test_support.hpp"
#include "test_support.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/pool.hpp"

namespace warmpool::wasm {
namespace {

using namespace std::chrono_literals;
using testing::as_bytes;
using testing::EngineTest;
using testing::plugin_file;
using Pool = InstancePool<Instance, WasmError, InstanceLifecycle>;

class ApiPool : public EngineTest {
 protected:
  Pool make_pool(const Limits& limits, Recycle recycle) {
    // As many instances as threads, but an instance being destroyed or rebuilt
    // still holds its capacity for a moment: wait for it rather than fail.
    auto pool = Pool::create(
        {.max_instances = 4, .warm_count = 2, .recycle = recycle, .acquire_timeout = 10s},
        [linked = load(plugin_file("hostile.wasm"), limits)] {
          return Instance::instantiate(linked);
        });
    if (!pool) throw std::runtime_error(pool.error().message());
    return std::move(*pool);
  }

  void run_mixed_load(Recycle recycle);

  // What echo returns after five "scribble" calls (each leaves damage behind
  // in guest memory) on one pool.
  std::string echo_after_scribbles(Recycle recycle);
};
WARMPOOL_ON_EVERY_ENGINE(ApiPool);

void ApiPool::run_mixed_load(Recycle recycle) {
  Pool pool = make_pool({.fuel = 200'000, .timeout = 5s, .max_memory_pages = 64}, recycle);
  // 10,000 calls in all, a quarter of them hostile.
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 2500;
  const char* hostile[] = {"spin", "trap", "grow", "recurse", "scribble"};
  std::atomic<int> good_ok{0}, hostile_failed{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        auto instance = pool.checkout();
        if (!instance) {
          ADD_FAILURE() << "checkout: " << instance.error();
          ++wrong;
          continue;
        }
        if (i % 4 == 3) {
          const std::string_view name = hostile[(i / 4 + t) % std::size(hostile)];
          auto r = (*instance)->call_bytes(name, {});
          if (name == "scribble") {
            EXPECT_TRUE(r) << r.error();
          } else if (r) {
            ADD_FAILURE() << name << " returned normally";
            ++wrong;
          } else {
            EXPECT_TRUE(r.error().poisons_instance()) << r.error();
            EXPECT_FALSE((*instance)->healthy()) << name;
            ++hostile_failed;
          }
          continue;
        }
        const std::string input = "call " + std::to_string(t) + "/" + std::to_string(i);
        auto r = (*instance)->call_bytes("echo", as_bytes(input));
        // "poisoned" would mean a damaged instance was reused.
        if (r && r->output == input) {
          ++good_ok;
        } else {
          ADD_FAILURE() << (r ? "wrong output: " + r->output : "error: " + r.error().message());
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const int hostile_calls = kThreads * (kCallsPerThread / 4);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(good_ok.load(), kThreads * kCallsPerThread - hostile_calls);
  // scribble returns normally; every other hostile export fails.
  EXPECT_EQ(hostile_failed.load(), hostile_calls - hostile_calls / 5);
  EXPECT_GE(pool.metrics()->destroyed(), static_cast<std::uint64_t>(hostile_failed.load()));
}

std::string ApiPool::echo_after_scribbles(Recycle recycle) {
  Pool pool = make_pool({}, recycle);
  for (int i = 0; i < 5; ++i) {
    auto instance = pool.checkout();
    EXPECT_TRUE(instance) << instance.error();
    if (!instance) return {};
    auto damaged = (*instance)->call_bytes("scribble", {});
    EXPECT_TRUE(damaged) << damaged.error();
  }
  auto instance = pool.checkout();
  EXPECT_TRUE(instance) << instance.error();
  if (!instance) return {};
  auto out = (*instance)->call_bytes("echo", as_bytes("clean"));
  EXPECT_TRUE(out) << out.error();
  return out ? out->output : std::string();
}

TEST_P(ApiPool, ResetRecyclingNeverServesAPoisonedInstance) {
  run_mixed_load(Recycle::Reset);
}

TEST_P(ApiPool, FreshRecyclingNeverServesAPoisonedInstance) {
  run_mixed_load(Recycle::Fresh);
}

TEST_P(ApiPool, ResetAndFreshUndoStateLeftByTheLastUser) {
  EXPECT_EQ(echo_after_scribbles(Recycle::Reset), "clean");
  EXPECT_EQ(echo_after_scribbles(Recycle::Fresh), "clean");
  // The control: without recycling, the damage is visible.
  EXPECT_EQ(echo_after_scribbles(Recycle::Reuse), "poisoned");
}

// A pool in a static is destroyed after the main thread's thread_local objects; its
// instances still enter their engine to go (V8: the isolate) and must not touch per-thread
// state that is gone by then (it corrupted the heap at exit before ThreadIsolateEntry's list
// became trivially destructible).
TEST_P(ApiPool, APoolInAStaticIsDestroyedCleanlyAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        static Pool pool = make_pool({}, Recycle::Reuse);
        {
          auto held = pool.checkout();
          if (!held || !(*held)->call_bytes("echo", as_bytes("x"))) std::_Exit(3);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace warmpool::wasm
