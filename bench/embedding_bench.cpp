// warmpool_embedding_bench: what the embedding API (warmpool/wasm/wasm.hpp) costs per call on
// every engine of the build — a typed call through a handle resolved once, against the same
// call by name, and a host function round trip (wasm -> C++ -> wasm).
//
//   build/<dir>/bench/warmpool_embedding_bench --benchmark_min_time=0.2
//
// <engine>/host_call reports the time per host call: its guest calls an (i32) -> (i32) host
// function 1,000 times per export call. <engine>/linked_call is the same guest with the import
// linked to another instance's export (Linker::define_instance): a wasm-to-wasm call.
//
// <engine>/pooled_fib_1_call/threads:N: N threads checking instances out of one pool (8
// instances, Recycle::Reuse) and calling fib(1); compare items_per_second of threads:2 with
// threads:1 (real time: the threads' calls per second together).
// <engine>/fib_1_call_thread_bound: fib_1_typed_call with the instance bound to the benchmark's
// thread (Instance::bind_to_this_thread); <engine>/pooled_fib_1_call_thread_bound: the pooled
// row through bound checkouts (warmpool::wasm::checkout_bound) of 100 calls each.
// <engine>/idle_instance_memory: resident memory per idle instance of the guest (no linear
// memory), from the RSS growth over 200 instances made after 8 others (per-module set-up
// done by then). On V8 each live instance has an isolate of its own: this is ~an isolate.
//
// <engine>/instantiate_dropped: an instance of the guest made and dropped in turn (V8: from
// the isolate the previous one gave back); <engine>/instantiate_kept: every instance stays
// live (V8: each creates an isolate, what the first instance of a pool slot pays).
//
// v8/floor_fib_1_call is what V8 itself needs for the same call (issue 14's floor): a bare
// v8::Function::Call on the cached `fib` export of an isolate of its own, locked and entered
// once, one HandleScope per 1,000 calls, no TryCatch, no result conversion.
// v8/floor_fib_1_call_nested_entry_per_call adds a Locker, Isolate::Scope and HandleScope per
// call nested in the ones held (a thread that holds the isolate across calls);
// v8/floor_fib_1_call_locker_per_call/threads:N a Locker, Isolate::Scope and HandleScope per
// call, nothing held between calls, N threads with an isolate each (CPU ns per call at 2
// threads against 1: what V8 shares between threads locking their own isolates);
// v8/floor_fib_1_call_parked_locker_per_call the same from one thread that parked the isolate
// once (a Locker and an Unlocker never ended), so each call's Locker restores a lazily archived
// thread state; v8/floor_fib_1_call_relock_per_call an Unlocker, Locker and Isolate::Scope per
// call: what a thread that lets other threads into the isolate between its calls pays at least.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/pool.hpp"
#include "warmpool/wasm/wasm.hpp"

#if WARMPOOL_BENCH_V8
#include <v8.h>
#endif

namespace {

namespace ww = warmpool::wasm;

constexpr int kHostCallsPerCall = 1000;

constexpr std::string_view kGuest = R"((module
  (import "env" "add_one" (func $add_one (param i32) (result i32)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "host_loop") (param $n i32) (result i32) (local $acc i32)
    (loop $again
      (local.set $acc (call $add_one (local.get $acc)))
      (br_if $again (i32.lt_s (local.get $acc) (local.get $n))))
    (local.get $acc))))";

template <class T>
T need(std::expected<T, ww::WasmError> value, std::string_view what) {
  if (!value) {
    std::fprintf(stderr, "warmpool_embedding_bench: %.*s: %s\n", static_cast<int>(what.size()),
                 what.data(), value.error().message().c_str());
    std::exit(1);
  }
  return std::move(*value);
}

ww::LinkedModule guest_module(ww::Engine engine) {
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(kGuest.data()), kGuest.size());
  auto module = need(ww::Module::compile(engine, bytes, {}, "guest.wat"), "compile");
  ww::Linker linker;
  linker.define("env", "add_one", [](std::int32_t x) { return x + 1; });
  return need(linker.link(module), "link");
}

// The guest with env.add_one bound to an export of a linked instance instead of the host.
ww::LinkedModule linked_guest_module(ww::Engine engine) {
  constexpr std::string_view kExporter = R"((module
    (func (export "add_one") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))))";
  const std::span exporter_bytes(reinterpret_cast<const std::uint8_t*>(kExporter.data()),
                                 kExporter.size());
  auto exporter = need(ww::Module::compile(engine, exporter_bytes, {}, "exporter.wat"), "compile");
  auto linked_exporter = need(ww::Linker().link(exporter), "link");
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(kGuest.data()), kGuest.size());
  auto module = need(ww::Module::compile(engine, bytes, {}, "guest.wat"), "compile");
  ww::Linker linker;
  linker.define_instance("env", linked_exporter);
  return need(linker.link(module), "link");
}

ww::Instance guest(ww::Engine engine) {
  return need(ww::Instance::instantiate(guest_module(engine)), "instantiate");
}

void fib_1_typed_call(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance = guest(engine);
  const auto fib = need(instance.module().typed<std::int32_t(std::int32_t)>("fib"), "fib");
  for (auto _ : state) {
    auto r = instance.call(fib, 1);
    if (!r) need(std::move(r), "fib");
    benchmark::DoNotOptimize(*r);
  }
}

// The typed call inside a thread binding (Instance::bind_to_this_thread), held for the run.
void fib_1_call_thread_bound(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance = guest(engine);
  const auto fib = need(instance.module().typed<std::int32_t(std::int32_t)>("fib"), "fib");
  const auto binding = need(instance.bind_to_this_thread(), "bind_to_this_thread");
  for (auto _ : state) {
    auto r = instance.call(fib, 1);
    if (!r) need(std::move(r), "fib");
    benchmark::DoNotOptimize(*r);
  }
}

void fib_1_call_by_name(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance = guest(engine);
  const ww::Value args[] = {std::int32_t{1}};
  for (auto _ : state) {
    auto r = instance.call("fib", args);
    if (!r) need(std::move(r), "fib");
    benchmark::DoNotOptimize(r->data());
  }
}

// Calls the guest's host_loop, which makes kHostCallsPerCall calls of its import, and
// reports the time per import call under `counter`.
void import_loop(benchmark::State& state, ww::Instance& instance, const char* counter) {
  const auto loop =
      need(instance.module().typed<std::int32_t(std::int32_t)>("host_loop"), "host_loop");
  for (auto _ : state) {
    auto r = instance.call(loop, kHostCallsPerCall);
    if (!r) need(std::move(r), "host_loop");
    benchmark::DoNotOptimize(*r);
  }
  state.SetItemsProcessed(state.iterations() * kHostCallsPerCall);
  state.counters[counter] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kHostCallsPerCall,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void host_call(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance = guest(engine);
  import_loop(state, instance, "time_per_host_call");
}

void linked_call(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance =
      need(ww::Instance::instantiate(linked_guest_module(engine)), "instantiate");
  import_loop(state, instance, "time_per_linked_call");
}

using Pool = warmpool::InstancePool<ww::Instance, ww::WasmError, ww::InstanceLifecycle>;

// One pool per engine for every thread of a pooled_fib_1_call run.
Pool& shared_pool(ww::Engine engine) {
  static std::map<std::string, std::unique_ptr<Pool>> pools;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  auto& pool = pools[std::string(engine.name())];
  if (!pool) {
    auto linked = std::make_shared<ww::LinkedModule>(guest_module(engine));
    pool = std::make_unique<Pool>(need(
        Pool::create({.max_instances = 8, .warm_count = 8, .recycle = warmpool::Recycle::Reuse},
                     [linked] { return ww::Instance::instantiate(*linked); }),
        "pool"));
  }
  return *pool;
}

void pooled_fib_1_call(benchmark::State& state, ww::Engine engine) {
  Pool& pool = shared_pool(engine);
  const auto fib = need(
      need(pool.checkout(), "checkout")->module().typed<std::int32_t(std::int32_t)>("fib"), "fib");
  for (auto _ : state) {
    auto instance = need(pool.checkout(), "checkout");
    auto r = instance->call(fib, 1);
    if (!r) need(std::move(r), "fib");
    benchmark::DoNotOptimize(*r);
  }
  state.SetItemsProcessed(state.iterations());
}

// Bound checkouts (warmpool::wasm::checkout_bound) of kCallsPerBoundCheckout calls each.
void pooled_fib_1_call_thread_bound(benchmark::State& state, ww::Engine engine) {
  constexpr int kCallsPerBoundCheckout = 100;
  Pool& pool = shared_pool(engine);
  const auto fib = need(
      need(pool.checkout(), "checkout")->module().typed<std::int32_t(std::int32_t)>("fib"), "fib");
  while (state.KeepRunningBatch(kCallsPerBoundCheckout)) {
    auto instance = need(ww::checkout_bound(pool), "checkout_bound");
    for (int i = 0; i < kCallsPerBoundCheckout; ++i) {
      auto r = instance->call(fib, 1);
      if (!r) need(std::move(r), "fib");
      benchmark::DoNotOptimize(*r);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

void instantiate_dropped(benchmark::State& state, ww::Engine engine) {
  const ww::LinkedModule linked = guest_module(engine);
  for (auto _ : state) {
    auto instance = need(ww::Instance::instantiate(linked), "instantiate");
    benchmark::DoNotOptimize(&instance);
  }
}

void instantiate_kept(benchmark::State& state, ww::Engine engine) {
  const ww::LinkedModule linked = guest_module(engine);
  // More live instances than V8 keeps isolates idle: the timed ones find none idle.
  constexpr std::size_t kTakeTheIdle = 64, kMaxLive = 160;
  std::vector<ww::Instance> live;
  auto take_the_idle = [&] {
    for (std::size_t i = 0; i < kTakeTheIdle; ++i) {
      live.push_back(need(ww::Instance::instantiate(linked), "instantiate"));
    }
  };
  take_the_idle();
  for (auto _ : state) {
    live.push_back(need(ww::Instance::instantiate(linked), "instantiate"));
    if (live.size() == kMaxLive) {
      state.PauseTiming();
      live.clear();
      take_the_idle();
      state.ResumeTiming();
    }
  }
}

void idle_instance_memory(benchmark::State& state, ww::Engine engine) {
  constexpr std::size_t kInstances = 200;
  const ww::LinkedModule linked = guest_module(engine);
  for (auto _ : state) {
    std::vector<ww::Instance> instances;
    instances.reserve(kInstances + 8);
    // Per-engine and per-module set-up first (V8's own heap, the module's compiled code).
    constexpr std::size_t kSetUpInstances = 8;
    for (std::size_t i = 0; i < kSetUpInstances; ++i) {
      instances.push_back(need(ww::Instance::instantiate(linked), "instantiate"));
    }
    const std::size_t before = resident_bytes();
    for (std::size_t i = 0; i < kInstances; ++i) {
      instances.push_back(need(ww::Instance::instantiate(linked), "instantiate"));
    }
    state.counters["KiB_per_instance"] =
        static_cast<double>(resident_bytes() - before) / 1024.0 / kInstances;
  }
}

#if WARMPOOL_BENCH_V8
// fib as a bare module (the guest above without its import), for V8 on its own.
constexpr std::uint8_t kFibBinary[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                    // magic, version
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,                    // type (i32) -> i32
    0x03, 0x02, 0x01, 0x00,                                            // one function
    0x07, 0x07, 0x01, 0x03, 'f',  'i',  'b',  0x00, 0x00,              // export "fib"
    0x0a, 0x1e, 0x01, 0x1c, 0x00, 0x20, 0x00, 0x41, 0x02, 0x48, 0x04,  // code
    0x7f, 0x20, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00,
    0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 0x00, 0x6a, 0x0b, 0x0b};

// An isolate of its own with `fib` instantiated; V8 itself was initialised by warmpool.
class BareV8Fib {
 public:
  BareV8Fib() : allocator_(v8::ArrayBuffer::Allocator::NewDefaultAllocator()) {
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = allocator_.get();
    isolate_ = v8::Isolate::New(params);
    v8::Locker locker(isolate_);
    v8::Isolate::Scope isolate_scope(isolate_);
    v8::HandleScope handles(isolate_);
    auto context = v8::Context::New(isolate_);
    v8::Context::Scope context_scope(context);
    auto module = v8::WasmModuleObject::Compile(
                      isolate_, v8::MemorySpan<const std::uint8_t>(kFibBinary, sizeof kFibBinary))
                      .ToLocalChecked();
    auto property = [&](v8::Local<v8::Object> object, const char* key) {
      return object->Get(context, v8::String::NewFromUtf8(isolate_, key).ToLocalChecked())
          .ToLocalChecked();
    };
    auto web_assembly = property(context->Global(), "WebAssembly").As<v8::Object>();
    v8::Local<v8::Value> argv[] = {module};
    auto instance = property(web_assembly, "Instance")
                        .As<v8::Function>()
                        ->NewInstance(context, 1, argv)
                        .ToLocalChecked();
    auto fib = property(property(instance, "exports").As<v8::Object>(), "fib");
    context_.Reset(isolate_, context);
    fib_.Reset(isolate_, fib.As<v8::Function>());
  }
  ~BareV8Fib() {
    {
      v8::Locker locker(isolate_);
      v8::Isolate::Scope isolate_scope(isolate_);
      fib_.Reset();
      context_.Reset();
    }
    isolate_->Dispose();
  }
  BareV8Fib(const BareV8Fib&) = delete;
  BareV8Fib& operator=(const BareV8Fib&) = delete;

  // fib(1) per iteration with the isolate locked and entered once.
  void call_entered_once(benchmark::State& state) {
    v8::Locker locker(isolate_);
    v8::Isolate::Scope isolate_scope(isolate_);
    calls(state, [] {});
  }

  // The same with a Locker, Isolate::Scope and HandleScope per call, nested in the ones held:
  // what V8 needs per call from a thread that holds the isolate across its calls (a checkout
  // holding it, or a thread-bound isolate).
  void call_nested_entry_per_call(benchmark::State& state) {
    v8::Locker locker(isolate_);
    v8::Isolate::Scope isolate_scope(isolate_);
    calls(state, [this] {
      v8::Locker nested(isolate_);
      v8::Isolate::Scope entered(isolate_);
      v8::HandleScope handles(isolate_);
    });
  }

  // A Locker, Isolate::Scope and HandleScope per call, none held between calls: what an
  // instance callable from any thread pays at least. Run from 1 and 2 threads (an isolate
  // each), it shows what V8 shares between threads that each lock their own isolate.
  void call_locker_per_call(benchmark::State& state) {
    for (auto _ : state) {
      v8::Locker locker(isolate_);
      v8::Isolate::Scope isolate_scope(isolate_);
      v8::HandleScope handles(isolate_);
      v8::Local<v8::Value> argv[] = {v8::Integer::New(isolate_, 1)};
      benchmark::DoNotOptimize(
          fib_.Get(isolate_)->Call(context_.Get(isolate_), v8::Undefined(isolate_), 1, argv));
    }
  }

  // call_locker_per_call after the thread locked the isolate once and parked it (a Locker and
  // an Unlocker made once and never ended): each call's Locker then only takes back the
  // thread's lazily archived state instead of setting it up and freeing it. What an any-thread
  // instance would pay if every thread kept such a parking per isolate it ever called.
  void call_parked_locker_per_call(benchmark::State& state) {
    alignas(v8::Locker) unsigned char locker_storage[sizeof(v8::Locker)];
    alignas(v8::Unlocker) unsigned char unlocker_storage[sizeof(v8::Unlocker)];
    auto* parked = new (locker_storage) v8::Locker(isolate_);
    auto* unparked = new (unlocker_storage) v8::Unlocker(isolate_);
    call_locker_per_call(state);
    unparked->~Unlocker();
    parked->~Locker();
  }

  // The same, the thread parking the isolate (Unlocker) and taking it back (Locker +
  // Isolate::Scope) around each call: the cheapest re-entry V8 offers to a thread that lets
  // others in between its calls.
  void call_relock_per_call(benchmark::State& state) {
    v8::Locker locker(isolate_);
    v8::Isolate::Scope isolate_scope(isolate_);
    calls(state, [this] {
      v8::Unlocker unlocked(isolate_);
      v8::Locker relocked(isolate_);
      v8::Isolate::Scope entered(isolate_);
    });
  }

 private:
  template <class Between>
  void calls(benchmark::State& state, Between between) {
    constexpr int kCallsPerHandleScope = 1000;
    v8::HandleScope handles(isolate_);
    auto context = context_.Get(isolate_);
    v8::Context::Scope context_scope(context);
    auto fib = fib_.Get(isolate_);
    auto receiver = v8::Undefined(isolate_);
    v8::Local<v8::Value> argv[] = {v8::Integer::New(isolate_, 1)};
    while (state.KeepRunningBatch(kCallsPerHandleScope)) {
      v8::HandleScope batch(isolate_);
      for (int i = 0; i < kCallsPerHandleScope; ++i) {
        between();
        benchmark::DoNotOptimize(fib->Call(context, receiver, 1, argv));
      }
    }
  }

 private:
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator_;
  v8::Isolate* isolate_;
  v8::Global<v8::Context> context_;
  v8::Global<v8::Function> fib_;
};

void floor_fib_1_call(benchmark::State& state) {
  (void)guest(*ww::Engine::named("v8"));  // initialises V8
  BareV8Fib bare;
  bare.call_entered_once(state);
}

void floor_fib_1_call_nested_entry_per_call(benchmark::State& state) {
  (void)guest(*ww::Engine::named("v8"));
  BareV8Fib bare;
  bare.call_nested_entry_per_call(state);
}

void floor_fib_1_call_locker_per_call(benchmark::State& state) {
  static std::once_flag v8_initialised;
  std::call_once(v8_initialised, [] { (void)guest(*ww::Engine::named("v8")); });
  std::unique_ptr<BareV8Fib> bare;
  {
    // Isolate::New is not to be raced with another thread's first use of V8.
    static std::mutex creating;
    std::lock_guard lock(creating);
    bare = std::make_unique<BareV8Fib>();
  }
  bare->call_locker_per_call(state);
}

void floor_fib_1_call_parked_locker_per_call(benchmark::State& state) {
  (void)guest(*ww::Engine::named("v8"));
  BareV8Fib bare;
  bare.call_parked_locker_per_call(state);
}

void floor_fib_1_call_relock_per_call(benchmark::State& state) {
  (void)guest(*ww::Engine::named("v8"));
  BareV8Fib bare;
  bare.call_relock_per_call(state);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  for (std::string_view name : ww::Engine::available()) {
    const ww::Engine engine = *ww::Engine::named(name);
    const std::string e(name);
    benchmark::RegisterBenchmark((e + "/fib_1_typed_call").c_str(), fib_1_typed_call, engine);
    benchmark::RegisterBenchmark((e + "/fib_1_call_thread_bound").c_str(), fib_1_call_thread_bound,
                                 engine);
    benchmark::RegisterBenchmark((e + "/fib_1_call_by_name").c_str(), fib_1_call_by_name, engine);
    benchmark::RegisterBenchmark((e + "/host_call").c_str(), host_call, engine)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((e + "/linked_call").c_str(), linked_call, engine)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((e + "/pooled_fib_1_call").c_str(), pooled_fib_1_call, engine)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
    benchmark::RegisterBenchmark((e + "/pooled_fib_1_call_thread_bound").c_str(),
                                 pooled_fib_1_call_thread_bound, engine)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
    benchmark::RegisterBenchmark((e + "/instantiate_dropped").c_str(), instantiate_dropped, engine)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((e + "/instantiate_kept").c_str(), instantiate_kept, engine)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((e + "/idle_instance_memory").c_str(), idle_instance_memory,
                                 engine)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
#if WARMPOOL_BENCH_V8
  benchmark::RegisterBenchmark("v8/floor_fib_1_call", floor_fib_1_call);
  benchmark::RegisterBenchmark("v8/floor_fib_1_call_nested_entry_per_call",
                               floor_fib_1_call_nested_entry_per_call);
  benchmark::RegisterBenchmark("v8/floor_fib_1_call_locker_per_call",
                               floor_fib_1_call_locker_per_call)
      ->Threads(1)
      ->Threads(2);
  benchmark::RegisterBenchmark("v8/floor_fib_1_call_parked_locker_per_call",
                               floor_fib_1_call_parked_locker_per_call);
  benchmark::RegisterBenchmark("v8/floor_fib_1_call_relock_per_call",
                               floor_fib_1_call_relock_per_call);
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
