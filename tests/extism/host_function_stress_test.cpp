// A pool of warmpool's own host_user plugin (plugins/extism/host_user.c) whose C++ host function
// reads the per-call context and the calling instance's kernel, driven from 8 threads. Checked
// invariants: no instance is out to two callers at once, a host function always sees the context
// of its own call and the kernel of the instance that call checked out, under Reuse each
// instance's call count runs 1, 2, 3, ... with no gap or repeat and the counts add up to the
// calls made, and under Reset every call sees count 1. Runs under ThreadSanitizer in CI.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism {
namespace {

using Pool = InstancePool<Plugin, Error, PluginLifecycle>;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kCallsPerThread = 150;
#else
constexpr int kCallsPerThread = 1'500;
#endif
constexpr int kThreads = 8;
constexpr std::size_t kInstances = 4;  // fewer than threads: instances change hands

struct CallContext {
  std::string tag;                 // unique per call
  const Kernel* checked_out;       // the kernel of the instance this call checked out
  std::atomic<int> host_calls{0};  // how often the host function ran for this call
  bool saw_wrong_kernel = false;
};

PluginOptions options(std::string_view engine) {
  PluginOptions o{.engine = *wasm::Engine::named(engine)};
  o.host_functions.push_back(
      {"extism:host/user", "tag",
       wasm::HostFunction::wrap([](wasm::Caller& caller,
                                   std::int64_t bytes) -> std::expected<std::int64_t, std::string> {
         Kernel& kernel = *Kernel::of(caller);
         auto* context = static_cast<CallContext*>(kernel.user_context());
         if (context == nullptr) return std::unexpected("tag: no CallContext");
         ++context->host_calls;
         if (context->checked_out != &kernel) context->saw_wrong_kernel = true;
         const std::string answer =
             context->tag + ":" + std::string(kernel.text(static_cast<Handle>(bytes)));
         return static_cast<std::int64_t>(kernel.allocate_bytes(answer));
       })});
  o.host_functions.push_back(
      {"extism:host/user", "add",
       wasm::HostFunction::wrap([](std::int64_t a, std::int64_t b) { return a + b; })});
  return o;
}

// prefix + a + separator + b, appended piece by piece (GCC 12 warns falsely about
// std::string operator+ chains here: -Wrestrict).
std::string numbered(std::string_view prefix, int a, std::string_view separator, int b) {
  std::string text(prefix);
  text += std::to_string(a);
  text += separator;
  text += std::to_string(b);
  return text;
}

// What 8 threads saw: per instance (its kernel), the call counts it reported.
struct Observed {
  std::mutex mutex;
  std::set<const Kernel*> out;  // instances currently checked out
  std::map<const Kernel*, std::vector<std::uint64_t>> counts;
  std::atomic<int> failures{0};
};

class HostFunctionStress : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    const auto path = std::filesystem::path(WARMPOOL_PLUGIN_DIR) / "extism_host_user.wasm";
    auto manifest = Manifest::load_file(path);
    ASSERT_TRUE(manifest) << manifest.error();
    auto compiled = CompiledPlugin::compile(*manifest, options(GetParam()));
    ASSERT_TRUE(compiled) << compiled.error();
    compiled_.emplace(std::move(*compiled));
  }

  void fail(Observed& observed, const std::string& what) {
    ADD_FAILURE() << what;
    ++observed.failures;
  }

  // One call on a checked-out instance; records which instance reported which count.
  void call_once(Pool& pool, Observed& observed, int thread, int i) {
    auto plugin = pool.checkout();
    if (!plugin) return fail(observed, "checkout: " + plugin.error().message());
    const Kernel* kernel = &(*plugin)->kernel();
    {
      std::lock_guard lock(observed.mutex);
      if (!observed.out.insert(kernel).second) {
        return fail(observed, "an instance was checked out twice at once");
      }
    }
    CallContext context{.tag = numbered("t", thread, "c", i), .checked_out = kernel};
    const std::string input = numbered("input-", thread, "-", i);
    auto out = (*plugin)->call("tag", input, &context);
    {
      std::lock_guard lock(observed.mutex);
      observed.out.erase(kernel);
    }
    if (!out) return fail(observed, "call: " + out.error().message());
    const std::string expected_prefix = context.tag + ":" + input + " calls=";
    if (!out->starts_with(expected_prefix) || context.host_calls != 1 || context.saw_wrong_kernel) {
      return fail(observed, "call " + context.tag + " got '" + *out + "', host calls " +
                                std::to_string(context.host_calls.load()) +
                                (context.saw_wrong_kernel ? ", wrong kernel" : ""));
    }
    const std::uint64_t count = std::stoull(out->substr(expected_prefix.size()));
    std::lock_guard lock(observed.mutex);
    observed.counts[kernel].push_back(count);
  }

  // Runs kThreads x kCallsPerThread calls through a pool of kInstances.
  void run(Recycle recycle, Observed& observed) {
    auto pool = Pool::create({.max_instances = kInstances,
                              .warm_count = kInstances,
                              .recycle = recycle,
                              .acquire_timeout = std::chrono::seconds(30)},
                             [compiled = *compiled_] { return compiled.instantiate(); });
    ASSERT_TRUE(pool) << pool.error();
    {
      std::vector<std::jthread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kCallsPerThread; ++i) call_once(*pool, observed, t, i);
        });
      }
    }
    EXPECT_LE(pool->metrics()->live(), kInstances);
  }

  std::optional<CompiledPlugin> compiled_;
};

TEST_P(HostFunctionStress, ReuseKeepsEachInstancesCountAndTheCountsAddUp) {
  Observed observed;
  run(Recycle::Reuse, observed);
  EXPECT_EQ(observed.failures.load(), 0);
  EXPECT_LE(observed.counts.size(), kInstances);
  std::size_t total = 0;
  for (auto& [kernel, counts] : observed.counts) {
    // Calls on one instance are serial, but their records race to the mutex: sort first.
    std::ranges::sort(counts);
    for (std::size_t i = 0; i < counts.size(); ++i) {
      ASSERT_EQ(counts[i], i + 1) << "an instance's var lost or repeated a call";
    }
    total += counts.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kCallsPerThread));
}

TEST_P(HostFunctionStress, ResetGivesEveryCallAFreshCount) {
  Observed observed;
  run(Recycle::Reset, observed);
  EXPECT_EQ(observed.failures.load(), 0);
  std::size_t total = 0;
  for (const auto& [kernel, counts] : observed.counts) {
    for (std::uint64_t count : counts) ASSERT_EQ(count, 1u);
    total += counts.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kCallsPerThread));
}

INSTANTIATE_TEST_SUITE_P(Engines, HostFunctionStress,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
