// Uses the installed header-only core, as a downstream project would.
#include <iostream>
#include <memory>
#include <string>
#include <warmpool/warmpool.hpp>

struct Error {
  static Error resource_limit(std::string m) { return {std::move(m)}; }
  std::string message;
};

int main() {
  auto pool = warmpool::InstancePool<std::unique_ptr<int>, Error>::create(
      {.max_instances = 2, .warm_count = 1},
      []() -> std::expected<std::unique_ptr<int>, Error> { return std::make_unique<int>(7); });
  if (!pool) return 1;
  auto inst = pool->acquire();
  if (!inst || **inst != 7) return 1;
  pool->release(std::move(*inst));
  std::cout << *pool << '\n';
}
