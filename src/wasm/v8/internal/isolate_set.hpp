// The V8 isolates warmpool's V8 instances live in: one per live instance, recycled.
//
// An isolate costs ~1.2 ms and ~0.5 MiB to create and a context ~0.4 ms more, while a
// WebAssembly.Instance inside an existing context costs tens of microseconds and a few KiB.
// V8 lets one thread at a time into an isolate, so two live instances sharing one (the
// design of d81420d..fe33a94: 4 shared isolates per hardware thread) made a call wait for
// every call of the instances it shared with: a plugin spinning until its deadline delayed
// other plugins, and calls queued behind it ran past their own deadlines (armed only once
// the call holds the isolate). So each live instance has an isolate no other live instance
// uses, and instantiation stays cheap by recycling: a destroyed instance's isolate (its
// context, WebAssembly.Instance constructor and the module states made in it) goes back to
// an idle list, and a new instance takes an idle one, preferring one that already holds its
// module's state; only when none is idle is an isolate created. Only the first instance of
// each concurrently live slot pays for the isolate.
//
// The trade-offs:
// - An idle (pooled) instance costs about an isolate (~0.5 MiB resident) instead of ~2 KiB;
//   the price of isolation (docs/PERFORMANCE.md, issue 14).
// - At most max(4, 2 x hardware threads) isolates stay idle (the rest are disposed of), and
//   a process whose modules are all gone disposes of every idle isolate, so it holds none.
// - A module's state in an isolate (module object, import functions) lives in the isolate,
//   keyed by the module's id; it goes when the module goes (at once in an idle isolate, on
//   its release in one in use) or with the isolate.
// - A destroyed instance's memory goes back at its isolate's next garbage collection, except
//   an import-free linked module's (the Extism kernel's): that instance stays in the isolate,
//   restored, as its module's spare (ModuleState::spare_instance), and an idle isolate keeps
//   it (the kernel's: 64 KiB of memory) until the module goes.
// - Every call takes the Locker afresh (~300 ns), as an instance may be called from any
//   thread, unless the instance is bound to the calling thread (Instance::ThreadBinding), which
//   holds it across calls; it never waits for another thread, as nothing else uses the isolate.
// - No deadlock detection: a thread waits for an isolate only if another thread is inside
//   the same instance, which the API forbids (an Instance is used by one thread at a time).
//   A host function calling another instance enters that instance's own isolate, free
//   unless that instance is misused; so a cycle of waits cannot form in valid use.
// - Instances linked to each other (Linker::define_instance) are one unit, used by one thread
//   at a time like an instance: the first linked instance acquires the isolate, the others and
//   their importer join it (V8 calls between them wasm to wasm only within an isolate), and it
//   goes back when that first one, destroyed last, releases it.
// - The modules of one Extism plugin no longer share an isolate: "different modules created
//   back to back by one thread" (78846c9) also matches a pool warming one plugin's instances
//   and then another's, which would put two plugins in one isolate. Their calls into each
//   other enter another isolate (a nested Locker, no waiting).
//
//   auto id = register_module();          // once per module; unregister_module(id) at its end
//   HomeIsolate& home = acquire_isolate(id);   // exclusive while the instance lives
//   { IsolateHold hold(home); IsolateEntry entry(home); fn->Call(hold.context(), ...); }
//   release_isolate(home);                // when the instance goes: idle again
#pragma once

#include <v8.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace warmpool::wasm::v8::internal {

// What one import function of a module state calls: import `index` of the module's live
// instance in the isolate.
struct ImportTarget {
  void* const* instance;
  std::uint32_t index;
};

// What instantiating a module in an isolate needs, made there on first use.
struct ModuleState {
  ::v8::Global<::v8::WasmModuleObject> module_object;
  ::v8::Global<::v8::Object> imports;
  // The module's instance living in the isolate now, which its import functions call: one at
  // a time, as an isolate holds one instance and the instances linked to it (of other modules).
  std::unique_ptr<void*> instance = std::make_unique<void*>(nullptr);
  std::unique_ptr<ImportTarget[]> targets;  // per import; the import functions' data
  // Some of `imports` name a linked instance's functions (set by its last instantiation).
  bool imports_linked = false;
  // An instance of the module left by a destroyed one, already restored to its
  // just-instantiated state, which the module's next instance here takes instead of
  // instantiating (v8_backend.cpp says which modules qualify); null when none.
  std::shared_ptr<void> spare_instance;
};

class HomeIsolate {
 public:
  HomeIsolate();
  ~HomeIsolate();
  HomeIsolate(const HomeIsolate&) = delete;
  HomeIsolate& operator=(const HomeIsolate&) = delete;

  ::v8::Isolate* isolate() const noexcept { return isolate_; }
  // Only while entered (IsolateHold, IsolateEntry).
  ::v8::Local<::v8::Context> context() const { return context_.Get(isolate_); }
  ::v8::Local<::v8::Function> instance_constructor() const {
    return instance_constructor_.Get(isolate_);
  }
  // The state of module `module_id` here (null if not made yet), and a new one to fill; only
  // while entered by the instance that holds it.
  ModuleState* module_state(std::uint64_t module_id);
  ModuleState& add_module_state(std::uint64_t module_id);

 private:
  friend void unregister_module(std::uint64_t module_id);
  friend HomeIsolate& acquire_isolate(std::uint64_t module_id);
  friend void release_isolate(HomeIsolate& home);
  bool holds(std::uint64_t module_id) const;
  // Drops the states of `forgotten_` modules; the isolate must be idle (nobody holds it).
  void drop_forgotten();

  ::v8::Isolate* isolate_;
  ::v8::Global<::v8::Context> context_;
  ::v8::Global<::v8::Function> instance_constructor_;  // WebAssembly.Instance
  std::vector<std::pair<std::uint64_t, ModuleState>> modules_;
  // Modules that went while the isolate was in use; under the pool's mutex.
  std::vector<std::uint64_t> forgotten_;
};

// A new module's id (and one more live module); its end drops its states everywhere, and
// the last module's end disposes of every idle isolate.
std::uint64_t register_module();
void unregister_module(std::uint64_t module_id);
// An isolate for a new instance of `module_id`, used by nothing else until released.
HomeIsolate& acquire_isolate(std::uint64_t module_id);
void release_isolate(HomeIsolate& home);

// Enters an isolate on this thread for as long as it lives, like Isolate::Scope, but may end in
// any order. V8 records, per isolate, the isolate that was current when it was entered and makes
// that one current again on exit, so two thread bindings ended first-made first would leave a
// departed isolate current (and V8 crashes on the next use). Ending an entry that is not this
// thread's last exits the later ones, exits it, and enters the later ones again; ending the last
// one, the usual case, is a plain exit.
class ThreadIsolateEntry {
 public:
  explicit ThreadIsolateEntry(::v8::Isolate* isolate);
  ~ThreadIsolateEntry();
  ThreadIsolateEntry(const ThreadIsolateEntry&) = delete;
  ThreadIsolateEntry& operator=(const ThreadIsolateEntry&) = delete;

 private:
  ::v8::Isolate* isolate_;
};

// Locks `home` for this thread and enters it, for as long as it lives: for one operation, or
// for a thread binding (Instance::ThreadBinding) across many. Not the context: V8 calls that
// take it enter it themselves (a call does not pay for it twice); what creates objects
// without naming a context (Object::New, ThrowError) runs under a Context::Scope.
class IsolateHold {
 public:
  explicit IsolateHold(HomeIsolate& home)
      : locker_(home.isolate()),
        entry_(home.isolate()),
        handle_scope_(home.isolate()),
        context_(home.context()) {}
  IsolateHold(const IsolateHold&) = delete;
  IsolateHold& operator=(const IsolateHold&) = delete;

  ::v8::Local<::v8::Context> context() const { return context_; }

 private:
  ::v8::Locker locker_;
  ThreadIsolateEntry entry_;
  // Holds only the context's handle, made once per hold; and it keeps V8's handle block, which
  // each operation's HandleScope (IsolateEntry) would otherwise allocate and give back.
  ::v8::HandleScope handle_scope_;
  ::v8::Local<::v8::Context> context_;
};

// The handles of one operation inside a hold.
class IsolateEntry {
 public:
  explicit IsolateEntry(HomeIsolate& home) : handle_scope_(home.isolate()) {}
  IsolateEntry(const IsolateEntry&) = delete;
  IsolateEntry& operator=(const IsolateEntry&) = delete;

 private:
  ::v8::HandleScope handle_scope_;
};

}  // namespace warmpool::wasm::v8::internal
