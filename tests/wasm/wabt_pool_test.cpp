// wabt instances in a warmpool::InstancePool, shared by 4 threads that mix
// good calls with hostile ones: no good call may ever see a poisoned instance.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/wabt.hpp"

namespace warmpool::wasm::wabt {
namespace {

using testing::plugin_file;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void run_mixed_load(Recycle recycle) {
  const Limits limits{.fuel = 200'000, .timeout = std::chrono::seconds(5), .max_memory_pages = 64};
  auto module = Module::load_file(plugin_file("hostile.wasm"), limits);
  ASSERT_TRUE(module) << module.error();
  auto pool = InstancePool<Instance, WasmError>::create(
      // As many instances as threads, but an instance being destroyed or
      // rebuilt still holds its capacity for a moment: wait for it rather
      // than fail the checkout.
      {.max_instances = 4,
       .warm_count = 2,
       .recycle = recycle,
       .acquire_timeout = std::chrono::seconds(10)},
      [m = *module] { return Instance::instantiate(m); }, lifecycle());
  ASSERT_TRUE(pool) << pool.error();

  // 10,000 calls in all, a quarter of them hostile.
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 2500;
  const char* hostile[] = {"spin", "trap", "grow", "recurse", "scribble"};
  std::atomic<int> good_ok{0}, hostile_failed{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        auto instance = pool->checkout();
        if (!instance) {
          ADD_FAILURE() << "checkout: " << instance.error();
          ++wrong;
          continue;
        }
        if (i % 4 == 3) {
          const char* name = hostile[(i / 4 + t) % std::size(hostile)];
          auto r = (*instance)->call_bytes(name, {});
          if (!r) ++hostile_failed;
          continue;
        }
        const std::string input = "call " + std::to_string(t) + "/" + std::to_string(i);
        auto r = (*instance)->call_bytes("echo", as_bytes(input));
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
  EXPECT_GT(pool->metrics()->destroyed(), 0u);
}

TEST(WabtPool, ResetRecyclingNeverServesAPoisonedInstance) {
  run_mixed_load(Recycle::Reset);
}

TEST(WabtPool, FreshRecyclingNeverServesAPoisonedInstance) {
  run_mixed_load(Recycle::Fresh);
}

}  // namespace
}  // namespace warmpool::wasm::wabt
