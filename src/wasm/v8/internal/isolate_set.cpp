#include "internal/isolate_set.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "internal/platform.hpp"
#include "internal/strings.hpp"

namespace warmpool::wasm::v8::internal {

namespace {

// The isolates this thread's ThreadIsolateEntry objects entered, first entered first.
// Trivially destructible on purpose: the main thread's thread_local objects are destroyed
// before static ones at exit, and an instance held by a static (a pool in a static) still
// enters its isolate when it is destroyed then. Up to kInline entries need no allocation;
// more (many bindings at once) live on the heap until the thread has none again.
struct EnteredIsolates {
  static constexpr std::size_t kInline = 8;
  ::v8::Isolate* inline_slots[kInline];
  ::v8::Isolate** heap_slots;  // null: inline_slots
  std::size_t capacity;        // of heap_slots
  std::size_t size;

  ::v8::Isolate** slots() noexcept { return heap_slots != nullptr ? heap_slots : inline_slots; }

  void push(::v8::Isolate* isolate) {
    const std::size_t room = heap_slots != nullptr ? capacity : kInline;
    if (size == room) {
      auto* bigger = new ::v8::Isolate*[2 * room];
      std::copy_n(slots(), size, bigger);
      delete[] heap_slots;
      heap_slots = bigger;
      capacity = 2 * room;
    }
    slots()[size++] = isolate;
  }

  // The index of the last entry of `isolate`.
  std::size_t last_index_of(::v8::Isolate* isolate) noexcept {
    std::size_t index = size - 1;
    while (slots()[index] != isolate) --index;
    return index;
  }

  void erase(std::size_t index) noexcept {
    std::copy(slots() + index + 1, slots() + size, slots() + index);
    if (--size == 0 && heap_slots != nullptr) {
      delete[] heap_slots;
      heap_slots = nullptr;
      capacity = 0;
    }
  }
};
static_assert(std::is_trivially_destructible_v<EnteredIsolates>);

constinit thread_local EnteredIsolates entered_on_this_thread{};

}  // namespace

ThreadIsolateEntry::ThreadIsolateEntry(::v8::Isolate* isolate) : isolate_(isolate) {
  isolate_->Enter();
  entered_on_this_thread.push(isolate_);
}

ThreadIsolateEntry::~ThreadIsolateEntry() {
  auto& entered = entered_on_this_thread;
  const std::size_t index = entered.last_index_of(isolate_);
  for (std::size_t later = entered.size - 1; later > index; --later) entered.slots()[later]->Exit();
  isolate_->Exit();
  entered.erase(index);
  for (std::size_t later = index; later < entered.size; ++later) entered.slots()[later]->Enter();
}

HomeIsolate::HomeIsolate() {
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

HomeIsolate::~HomeIsolate() {
  {
    ::v8::Locker locker(isolate_);
    ::v8::Isolate::Scope isolate_scope(isolate_);
    modules_.clear();
    instance_constructor_.Reset();
    context_.Reset();
  }
  isolate_->Dispose();
}

ModuleState* HomeIsolate::module_state(std::uint64_t module_id) {
  auto found = std::ranges::find(modules_, module_id, &decltype(modules_)::value_type::first);
  return found == modules_.end() ? nullptr : &found->second;
}

ModuleState& HomeIsolate::add_module_state(std::uint64_t module_id) {
  return modules_.emplace_back(module_id, ModuleState{}).second;
}

bool HomeIsolate::holds(std::uint64_t module_id) const {
  return std::ranges::find(modules_, module_id, &decltype(modules_)::value_type::first) !=
         modules_.end();
}

void HomeIsolate::drop_forgotten() {
  if (forgotten_.empty()) return;
  {
    ::v8::Locker locker(isolate_);
    ::v8::Isolate::Scope isolate_scope(isolate_);
    std::erase_if(modules_, [&](const auto& state) {
      return std::ranges::find(forgotten_, state.first) != forgotten_.end();
    });
  }
  forgotten_.clear();
}

// Lock order: the pool's mutex, then an isolate's Locker, and only the Locker of an isolate
// nobody holds (idle, or just released by its instance): taking it never waits.
struct IsolatePool {
  std::mutex mutex;
  std::vector<HomeIsolate*> idle;  // the most recently released last
  std::unordered_set<HomeIsolate*> in_use;
  std::size_t live_modules = 0;
  std::uint64_t next_module_id = 1;
  // Enough for every thread to refill a pool or replace an instance from an idle isolate;
  // each idle isolate keeps ~0.5 MiB.
  const std::size_t max_idle = std::max<std::size_t>(4, 2 * std::thread::hardware_concurrency());

  static IsolatePool& get() {
    // Leaked on purpose, like V8 itself (see ensure_v8); the isolates inside are not.
    static auto* pool = new IsolatePool;
    return *pool;
  }
};

std::uint64_t register_module() {
  IsolatePool& pool = IsolatePool::get();
  std::lock_guard lock(pool.mutex);
  ++pool.live_modules;
  return pool.next_module_id++;
}

void unregister_module(std::uint64_t module_id) {
  IsolatePool& pool = IsolatePool::get();
  std::vector<HomeIsolate*> disposed;
  {
    std::lock_guard lock(pool.mutex);
    // Instances of other modules hold these; their release drops the state.
    for (HomeIsolate* home : pool.in_use) home->forgotten_.push_back(module_id);
    if (--pool.live_modules == 0) {
      disposed = std::exchange(pool.idle, {});
    } else {
      for (HomeIsolate* home : pool.idle) {
        if (!home->holds(module_id)) continue;
        home->forgotten_.push_back(module_id);
        home->drop_forgotten();
      }
    }
  }
  for (HomeIsolate* home : disposed) delete home;
}

HomeIsolate& acquire_isolate(std::uint64_t module_id) {
  ensure_v8();
  IsolatePool& pool = IsolatePool::get();
  {
    std::lock_guard lock(pool.mutex);
    if (!pool.idle.empty()) {
      auto found = std::ranges::find_if(pool.idle.rbegin(), pool.idle.rend(),
                                        [&](HomeIsolate* home) { return home->holds(module_id); });
      auto taken = found == pool.idle.rend() ? std::prev(pool.idle.end()) : std::prev(found.base());
      HomeIsolate* home = *taken;
      pool.idle.erase(taken);
      pool.in_use.insert(home);
      return *home;
    }
  }
  auto* home = new HomeIsolate;  // outside the mutex: ~1.5 ms
  std::lock_guard lock(pool.mutex);
  pool.in_use.insert(home);
  return *home;
}

void release_isolate(HomeIsolate& home) {
  IsolatePool& pool = IsolatePool::get();
  HomeIsolate* disposed = nullptr;
  {
    std::lock_guard lock(pool.mutex);
    pool.in_use.erase(&home);
    if (pool.live_modules == 0 || pool.idle.size() >= pool.max_idle) {
      disposed = &home;
    } else {
      // A deadline that fired as its instance went must not stop the next instance's call.
      home.isolate_->CancelTerminateExecution();
      home.drop_forgotten();
      pool.idle.push_back(&home);
    }
  }
  delete disposed;
}

}  // namespace warmpool::wasm::v8::internal
