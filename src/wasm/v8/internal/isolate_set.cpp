#include "internal/isolate_set.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "internal/platform.hpp"
#include "internal/strings.hpp"

namespace warmpool::wasm::v8::internal {
namespace {

// Enough isolates that two threads rarely pick instances of the same one (1 in 8 on a
// 2-thread machine), few enough that their fixed cost (~1 MiB each while in use)
// stays small next to the instances they hold.
constexpr std::size_t kIsolatesPerHardwareThread = 4;
constexpr std::size_t kMaxIsolates = 64;

struct IsolateSet {
  explicit IsolateSet(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) slots.push_back(new SharedIsolate(i));
  }
  std::mutex users_mutex;  // users_ of every slot, and creating and disposing V8 isolates
  std::vector<SharedIsolate*> slots;
  std::atomic<std::size_t> next{0};
};

IsolateSet& isolate_set() {
  // Leaked on purpose, like V8 itself (see ensure_v8); the V8 isolates inside are not.
  static auto* set = new IsolateSet(std::clamp<std::size_t>(
      kIsolatesPerHardwareThread * std::max(1U, std::thread::hardware_concurrency()), 2,
      kMaxIsolates));
  return *set;
}

}  // namespace

// Records live as long as the process (a thread walking a cycle may still read the record of
// a thread that just ended); an ended thread's record is reused by the next thread.
struct ThreadWaits {
  std::atomic<SharedIsolate*> waiting_for{nullptr};
  int held = 0;  // isolates this thread holds (read by this thread only)
};

namespace {

struct WaitRecords {
  std::mutex mutex;
  std::deque<ThreadWaits> all;
  std::vector<ThreadWaits*> free;
};

WaitRecords& wait_records() {
  static auto* records = new WaitRecords;  // leaked on purpose, like the isolate set
  return *records;
}

// This thread's record, taken on first use and given back when the thread ends.
struct ThreadRecord {
  ThreadRecord() {
    WaitRecords& records = wait_records();
    std::lock_guard lock(records.mutex);
    if (records.free.empty()) {
      waits = &records.all.emplace_back();
    } else {
      waits = records.free.back();
      records.free.pop_back();
    }
  }
  ~ThreadRecord() {
    WaitRecords& records = wait_records();
    std::lock_guard lock(records.mutex);
    records.free.push_back(waits);
  }
  ThreadRecord(const ThreadRecord&) = delete;
  ThreadRecord& operator=(const ThreadRecord&) = delete;
  ThreadWaits* waits;
};

ThreadWaits& this_thread_waits() {
  thread_local ThreadRecord record;
  return *record.waits;
}

}  // namespace

// Holding another isolate, this thread is about to wait for `home`: it records that first,
// then follows holders and what they wait for. Whichever of two threads records its wait
// last sees the other's (sequentially consistent atomics), so a cycle is always seen by at
// least one thread in it, which then refuses instead of waiting. A thread that holds nothing
// cannot be in a cycle and just waits.
bool IsolateEntry::closes_a_cycle(SharedIsolate& home) {
  waits_->waiting_for.store(&home);
  const SharedIsolate* next = &home;
  for (std::size_t hops = 0; hops < kMaxIsolates && next != nullptr; ++hops) {
    const ThreadWaits* holder = next->holder_.load();
    if (holder == nullptr) return false;
    if (holder == waits_) {
      waits_->waiting_for.store(nullptr);
      return true;
    }
    next = holder->waiting_for.load();
  }
  return false;
}

IsolateEntry::IsolateEntry(SharedIsolate& home) : home_(home), waits_(&this_thread_waits()) {
  const bool held_here = home.holder_.load() == waits_;
  if (!held_here && waits_->held > 0 && closes_a_cycle(home)) return;  // refused
  locker_.emplace(home.isolate());
  waits_->waiting_for.store(nullptr);
  if (!held_here) {
    home.holder_.store(waits_);
    ++waits_->held;
    first_hold_ = true;
  }
  isolate_scope_.emplace(home.isolate());
  handle_scope_.emplace(home.isolate());
  context_ = home.context();
}

IsolateEntry::~IsolateEntry() {
  handle_scope_.reset();
  isolate_scope_.reset();
  if (first_hold_) {
    --waits_->held;
    home_.holder_.store(nullptr);
  }
  locker_.reset();
}

void SharedIsolate::create() {
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

void SharedIsolate::dispose() {
  {
    ::v8::Locker locker(isolate_);
    ::v8::Isolate::Scope isolate_scope(isolate_);
    instance_constructor_.Reset();
    context_.Reset();
  }
  isolate_->Dispose();
  isolate_ = nullptr;
}

void use_isolate(SharedIsolate& home) {
  std::lock_guard lock(isolate_set().users_mutex);
  if (home.users_++ == 0) home.create();
}

void release_isolate(SharedIsolate& home) {
  std::lock_guard lock(isolate_set().users_mutex);
  if (--home.users_ == 0) home.dispose();
}

std::size_t shared_isolate_count() {
  return isolate_set().slots.size();
}

namespace {

// The modules this thread placed in one isolate since its last round-robin step.
struct Placement {
  std::size_t index = 0;
  std::vector<const void*> modules;
};

}  // namespace

SharedIsolate& assign_isolate(const void* module) {
  ensure_v8();
  thread_local Placement placement;
  IsolateSet& set = isolate_set();
  if (placement.modules.empty() ||
      std::ranges::find(placement.modules, module) != placement.modules.end()) {
    placement.index = set.next.fetch_add(1, std::memory_order_relaxed) % set.slots.size();
    placement.modules.clear();
  }
  placement.modules.push_back(module);
  SharedIsolate& home = *set.slots[placement.index];
  use_isolate(home);
  return home;
}

}  // namespace warmpool::wasm::v8::internal
