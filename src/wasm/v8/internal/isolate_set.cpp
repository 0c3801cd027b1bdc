#include "internal/isolate_set.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "internal/platform.hpp"
#include "internal/strings.hpp"

namespace warmpool::wasm::v8::internal {
namespace {

// Enough isolates that two threads rarely pick instances of the same one (1 in 8 on a
// 2-thread machine), few enough that their fixed cost (~1 MiB each, created on first use)
// stays small next to the instances they hold.
constexpr std::size_t kIsolatesPerHardwareThread = 4;
constexpr std::size_t kMaxIsolates = 64;

struct IsolateSet {
  explicit IsolateSet(std::size_t count) : slots(count) {}
  std::mutex creating;
  std::vector<std::atomic<SharedIsolate*>> slots;
  std::atomic<std::size_t> next{0};
};

IsolateSet& isolate_set() {
  // Leaked on purpose, like V8 itself (see ensure_v8).
  static auto* set = new IsolateSet(std::clamp<std::size_t>(
      kIsolatesPerHardwareThread * std::max(1U, std::thread::hardware_concurrency()), 2,
      kMaxIsolates));
  return *set;
}

}  // namespace

SharedIsolate::SharedIsolate(std::size_t index) : index_(index) {
  auto params = isolate_params();
  isolate_ = ::v8::Isolate::New(params);
  ::v8::Locker locker(isolate_);
  ::v8::Isolate::Scope isolate_scope(isolate_);
  // Guests queue no promise jobs: no microtask checkpoint at the end of every call.
  isolate_->SetMicrotasksPolicy(::v8::MicrotasksPolicy::kExplicit);
  ::v8::HandleScope handle_scope(isolate_);
  auto context = ::v8::Context::New(isolate_);
  ::v8::Context::Scope context_scope(context);
  context_.Reset(isolate_, context);
  auto web_assembly =
      get(context, context->Global(), "WebAssembly").ToLocalChecked().As<::v8::Object>();
  instance_constructor_.Reset(
      isolate_, get(context, web_assembly, "Instance").ToLocalChecked().As<::v8::Function>());
}

std::size_t shared_isolate_count() {
  return isolate_set().slots.size();
}

SharedIsolate* created_isolate(std::size_t index) {
  return isolate_set().slots[index].load(std::memory_order_acquire);
}

SharedIsolate& assign_isolate() {
  ensure_v8();
  IsolateSet& set = isolate_set();
  const std::size_t index = set.next.fetch_add(1, std::memory_order_relaxed) % set.slots.size();
  if (auto* existing = set.slots[index].load(std::memory_order_acquire)) return *existing;
  std::lock_guard lock(set.creating);
  if (auto* existing = set.slots[index].load(std::memory_order_relaxed)) return *existing;
  auto* created = new SharedIsolate(index);
  set.slots[index].store(created, std::memory_order_release);
  return *created;
}

}  // namespace warmpool::wasm::v8::internal
