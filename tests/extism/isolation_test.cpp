// Isolation of a real Extism plugin under the pool: code.wasm (count_vowels with a running
// `total` kept in a var) accumulates under Reuse and sees the just-created state on every call
// under Reset and Fresh, from 8 threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;
using Pool = InstancePool<Plugin, Error, PluginLifecycle>;

const fs::path kCodeWasm = fs::path(WARMPOOL_EXTISM_SHARED_DIR) / "plugins" / "code.wasm";

// Under Reset, every call of the 8 threads' must see the just-created state: the issue's
// 100,000 calls in the Release suite, fewer under the sanitizers.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kResetProofCalls = 3'000;
#else
constexpr int kResetProofCalls = 100'000;
#endif

std::string counted(int total) {
  return R"({"count":3,"total":)" + std::to_string(total) + R"(,"vowels":"aeiouAEIOU"})";
}

class CodeWasmIsolation : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    if (!fs::exists(kCodeWasm)) GTEST_SKIP() << kCodeWasm << " is absent";
    auto manifest = Manifest::load_file(kCodeWasm);
    ASSERT_TRUE(manifest) << manifest.error();
    auto compiled =
        CompiledPlugin::compile(*manifest, {.engine = *wasm::Engine::named(GetParam())});
    ASSERT_TRUE(compiled) << compiled.error();
    compiled_.emplace(std::move(*compiled));
  }

  std::expected<std::shared_ptr<Pool>, Error> pool(Recycle recycle, std::size_t size) {
    // A checkout waits for an instance being rebuilt (a Reset that cannot
    // restore in place destroys the instance) instead of failing at capacity:
    // the test is about what a call sees, not about how fast refill is.
    auto p = Pool::create({.max_instances = size,
                           .warm_count = size,
                           .recycle = recycle,
                           .acquire_timeout = std::chrono::seconds(30)},
                          [compiled = *compiled_] { return compiled.instantiate(); });
    if (!p) return std::unexpected(p.error());
    return std::make_shared<Pool>(std::move(*p));
  }

  // Calls count_vowels("hello world") `calls` times from 8 threads; the number of calls
  // that failed or did not output the first call's result (each also reported).
  int stale_outputs(Recycle recycle, int calls) {
    auto shared = pool(recycle, 8);
    EXPECT_TRUE(shared) << shared.error();
    std::atomic<int> next{0};
    std::atomic<int> stale{0};
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        while (next.fetch_add(1) < calls) {
          auto plugin = (*shared)->checkout();
          if (!plugin) {
            ADD_FAILURE() << "checkout: " << plugin.error();
            ++stale;
            continue;
          }
          auto out = (*plugin)->call("count_vowels", "hello world");
          if (!out || *out != counted(3)) {
            ADD_FAILURE() << "call saw " << (out ? *out : "error: " + out.error().message());
            ++stale;
          }
        }
      });
    }
    threads.clear();
    return stale.load();
  }

  // ~20 s on V8 and ~55 s on wabt in Release (wabt's Reset of code.wasm after its memory grew
  // builds a new instance). WARMPOOL_EXTISM_ISOLATION_CALLS=N overrides.
  int reset_calls() const {
    if (const char* calls = std::getenv("WARMPOOL_EXTISM_ISOLATION_CALLS")) return std::atoi(calls);
    return kResetProofCalls;
  }

  std::optional<CompiledPlugin> compiled_;
};

TEST_P(CodeWasmIsolation, ReuseKeepsTheRunningTotal) {
  auto one = pool(Recycle::Reuse, 1);
  ASSERT_TRUE(one) << one.error();
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ((*one)->checkout().value()->call("count_vowels", "hello world").value(),
              counted(3 * i));
  }
}

TEST_P(CodeWasmIsolation, ResetGivesEveryCallTheFreshStateFrom8Threads) {
  EXPECT_EQ(stale_outputs(Recycle::Reset, reset_calls()), 0);
}

TEST_P(CodeWasmIsolation, FreshGivesEveryCallTheFreshStateFrom8Threads) {
  EXPECT_EQ(stale_outputs(Recycle::Fresh, reset_calls() / 10), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, CodeWasmIsolation,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
