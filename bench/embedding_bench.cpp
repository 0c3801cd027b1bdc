// warmpool_embedding_bench: what the embedding API (warmpool/wasm/wasm.hpp) costs per call on
// every engine of the build — a typed call through a handle resolved once, against the same
// call by name, and a host function round trip (wasm -> C++ -> wasm).
//
//   build/<dir>/bench/warmpool_embedding_bench --benchmark_min_time=0.2
//
// <engine>/host_call reports the time per host call: its guest calls an (i32) -> (i32) host
// function 1,000 times per export call.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/wasm/wasm.hpp"

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

ww::Instance guest(ww::Engine engine) {
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(kGuest.data()), kGuest.size());
  auto module = need(ww::Module::compile(engine, bytes, {}, "guest.wat"), "compile");
  ww::Linker linker;
  linker.define("env", "add_one", [](std::int32_t x) { return x + 1; });
  return need(ww::Instance::instantiate(need(linker.link(module), "link")), "instantiate");
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

void fib_1_call_by_name(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance = guest(engine);
  const ww::Value args[] = {std::int32_t{1}};
  for (auto _ : state) {
    auto r = instance.call("fib", args);
    if (!r) need(std::move(r), "fib");
    benchmark::DoNotOptimize(r->data());
  }
}

void host_call(benchmark::State& state, ww::Engine engine) {
  ww::Instance instance = guest(engine);
  const auto loop =
      need(instance.module().typed<std::int32_t(std::int32_t)>("host_loop"), "host_loop");
  for (auto _ : state) {
    auto r = instance.call(loop, kHostCallsPerCall);
    if (!r) need(std::move(r), "host_loop");
    benchmark::DoNotOptimize(*r);
  }
  state.SetItemsProcessed(state.iterations() * kHostCallsPerCall);
  state.counters["time_per_host_call"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kHostCallsPerCall,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  for (std::string_view name : ww::Engine::available()) {
    const ww::Engine engine = *ww::Engine::named(name);
    const std::string e(name);
    benchmark::RegisterBenchmark((e + "/fib_1_typed_call").c_str(), fib_1_typed_call, engine);
    benchmark::RegisterBenchmark((e + "/fib_1_call_by_name").c_str(), fib_1_call_by_name, engine);
    benchmark::RegisterBenchmark((e + "/host_call").c_str(), host_call, engine)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
