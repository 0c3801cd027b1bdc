// What an Extism function returns on successive checkouts of a one-instance pool: shows what
// each Recycle mode keeps between uses (vars, guest globals) on a real plugin.
//
//   auto compiled = CompiledPlugin::compile(manifest, options);
//   EXPECT_EQ(outputs_of_checkouts(*compiled, Recycle::Reuse, "count_calls", 3), "123");
//   EXPECT_EQ(outputs_of_checkouts(*compiled, Recycle::Fresh, "count_calls", 3), "111");
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism::test {

// The outputs of `function` (empty input) on `checkouts` checkouts, concatenated. A pool, checkout
// or call that fails is a test failure and adds "<error>" in place of its output.
inline std::string outputs_of_checkouts(const CompiledPlugin& compiled, Recycle recycle,
                                        std::string_view function, int checkouts) {
  using Pool = InstancePool<Plugin, Error, PluginLifecycle>;
  auto pool = Pool::create({.max_instances = 1,
                            .recycle = recycle,
                            // wait for the instance being rebuilt (Fresh, or a Reset that
                            // cannot restore in place) instead of failing at capacity
                            .acquire_timeout = std::chrono::seconds(30)},
                           [compiled] { return compiled.instantiate(); });
  if (!pool) {
    ADD_FAILURE() << "pool: " << pool.error().message();
    return "<error>";
  }
  std::string seen;
  for (int i = 0; i < checkouts; ++i) {
    auto instance = pool->checkout();
    if (!instance) {
      ADD_FAILURE() << "checkout " << i << ": " << instance.error().message();
      seen += "<error>";
      continue;
    }
    auto out = (*instance)->call(function, "");
    if (!out) ADD_FAILURE() << function << " on checkout " << i << ": " << out.error().message();
    seen += out ? *out : "<error>";
  }
  return seen;
}

}  // namespace warmpool::extism::test
