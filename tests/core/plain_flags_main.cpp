// Built by a CTest with only `-std=c++23 -pthread` (see CMakeLists.txt): the
// whole public API must compile and link without -latomic or extra defines.
#include <memory>
#include <string>
#include <warmpool/warmpool.hpp>

namespace {
struct Error {
  std::string message;
  static Error resource_limit(std::string m) { return {std::move(m)}; }
};
}  // namespace

int main() {
  warmpool::PoolConfig cfg;
  cfg.recycle = warmpool::Recycle::Reset;
  cfg.idle_timeout = std::chrono::milliseconds{5};
  auto pool = warmpool::InstancePool<std::unique_ptr<int>, Error>::create(
      cfg, [] { return std::expected<std::unique_ptr<int>, Error>(std::make_unique<int>(1)); });
  if (!pool) return 1;
  auto a = pool->acquire();
  if (!a) return 1;
  pool->release(std::move(*a));
  auto h = pool->checkout();
  if (!h || !**h || pool->metrics()->hits() != 2) return 1;

  // The typed lifecycle form.
  struct Hooks {
    static bool is_healthy(const std::unique_ptr<int>& p) noexcept { return *p == 1; }
    static bool reset(std::unique_ptr<int>&) noexcept { return true; }
  };
  auto typed = warmpool::InstancePool<std::unique_ptr<int>, Error, Hooks>::create(
      cfg, [] { return std::expected<std::unique_ptr<int>, Error>(std::make_unique<int>(1)); });
  if (!typed) return 1;
  auto t = typed->checkout();
  return t && **t ? 0 : 1;
}
