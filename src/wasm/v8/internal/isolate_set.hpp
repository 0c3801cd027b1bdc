// The process-wide set of V8 isolates that every warmpool V8 instance lives in.
//
// An isolate costs ~1.2 ms and ~0.5 MiB to create and a context ~0.4 ms more, while a
// WebAssembly.Instance inside an existing context costs tens of microseconds and a few KiB.
// So instances do not get an isolate of their own: each is assigned to one of
// shared_isolate_count() isolates (4 per hardware thread), created on first use and kept
// while a module or instance uses them, and lives there as a WebAssembly.Instance in the
// isolate's one context.
//
// The trade-offs:
// - One thread at a time runs inside an isolate (V8's Locker), so two instances of the same
//   isolate cannot run in parallel. With several isolates per hardware thread and a pool's
//   instances spread round-robin, two threads rarely pick instances of the same isolate; when
//   they do, one waits for the other's call.
// - Every call still takes the Locker afresh (~300 ns of V8's own bookkeeping per call), as
//   an instance may be called from any thread: only a thread holding the isolate across its
//   calls would avoid it, which V8 then does for nested Locker/Isolate::Scope.
// - A deadline interrupts the isolate (TerminateExecution); it can only hit its own call, as
//   a deadline is armed only while its call holds the isolate.
// - A destroyed instance's memory goes back at the isolate's next garbage collection, not at
//   once (resident memory stayed bounded over 40,000 fresh markdown instances).
// - A host function that calls an instance of another isolate holds one isolate and waits
//   for another; where that would close a cycle of waits, the inner call is refused (see
//   IsolateEntry) instead of deadlocking.
//
//   SharedIsolate& home = assign_isolate(module);  // round-robin (see there), one use
//   IsolateEntry entry(home);                      // locks and enters it on this thread
//   fn->Call(entry.context(), ...);                // the isolate's one context
//   release_isolate(home);                         // when the instance goes
#pragma once

#include <v8.h>

#include <atomic>
#include <cstddef>
#include <optional>

namespace warmpool::wasm::v8::internal {

struct ThreadWaits;

class SharedIsolate {
 public:
  explicit SharedIsolate(std::size_t index) : index_(index) {}
  SharedIsolate(const SharedIsolate&) = delete;
  SharedIsolate& operator=(const SharedIsolate&) = delete;

  // Only while used (assign_isolate, use_isolate): the V8 isolate exists while it has users.
  ::v8::Isolate* isolate() const noexcept { return isolate_; }
  // Its position in the set: per-isolate state of a module is kept at this index.
  std::size_t index() const noexcept { return index_; }
  // Only while entered (IsolateEntry).
  ::v8::Local<::v8::Context> context() const { return context_.Get(isolate_); }
  ::v8::Local<::v8::Function> instance_constructor() const {
    return instance_constructor_.Get(isolate_);
  }

 private:
  friend class IsolateEntry;
  friend void use_isolate(SharedIsolate& home);
  friend void release_isolate(SharedIsolate& home);
  // The object itself is never destroyed (a thread looking for a cycle of waits may read it
  // at any time); only the V8 isolate inside comes and goes with its users.
  ~SharedIsolate() = default;
  void create();
  void dispose();

  std::atomic<ThreadWaits*> holder_{nullptr};  // the thread that holds it, if any

  const std::size_t index_;
  std::size_t users_ = 0;  // instances and modules' states in it; under the set's mutex
  ::v8::Isolate* isolate_ = nullptr;
  ::v8::Global<::v8::Context> context_;
  ::v8::Global<::v8::Function> instance_constructor_;  // WebAssembly.Instance
};

// How many isolates the set holds (a few per hardware thread).
std::size_t shared_isolate_count();
// The isolate for a new instance of `module` (any pointer that names the module), as one use
// of it (thread-safe). Round-robin, except that instances of different modules created one
// after the other by one thread share an isolate until a module repeats: the modules of one
// plugin that call each other (an Extism manifest's) then share their isolate, so their calls
// into each other never wait for another thread, while a pool's instances of one module still
// spread over every isolate.
SharedIsolate& assign_isolate(const void* module);
// One more use of `home` (a module's state in it), and the end of one. The first use creates
// the V8 isolate, the last disposes of it: a module keeps the isolates it was instantiated in
// (no isolate made again per instance), and a process whose modules are gone holds none.
void use_isolate(SharedIsolate& home);
void release_isolate(SharedIsolate& home);

// Locks `home` for this thread and enters it, for one operation. The context is not entered:
// V8 calls that take it enter it themselves (a call does not pay for it twice); what creates
// objects without naming a context (Object::New, ThrowError) runs under a Context::Scope.
//
// A thread that holds another isolate already (a host function calling into an instance of
// another isolate) must not wait for a thread that waits for it: when waiting would close
// such a cycle, the entry is refused instead (refused(): nothing is locked) and the call
// fails with kRefusedMessage, where two shared isolates would otherwise deadlock.
class IsolateEntry {
 public:
  explicit IsolateEntry(SharedIsolate& home);
  ~IsolateEntry();
  IsolateEntry(const IsolateEntry&) = delete;
  IsolateEntry& operator=(const IsolateEntry&) = delete;

  bool refused() const noexcept { return !locker_; }
  ::v8::Local<::v8::Context> context() const { return context_; }

  static constexpr const char* kRefusedMessage =
      "its V8 isolate is held by a thread that waits for an isolate this thread holds (host "
      "functions calling into instances of each other's isolates); waiting would deadlock";

 private:
  bool closes_a_cycle(SharedIsolate& home);

  SharedIsolate& home_;
  ThreadWaits* waits_;
  bool first_hold_ = false;  // this entry took `home` for the thread (not nested in another)
  std::optional<::v8::Locker> locker_;
  std::optional<::v8::Isolate::Scope> isolate_scope_;
  std::optional<::v8::HandleScope> handle_scope_;
  ::v8::Local<::v8::Context> context_;
};

}  // namespace warmpool::wasm::v8::internal
