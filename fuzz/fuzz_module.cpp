// Fuzzes the embedding API on wabt with arbitrary module bytes: whatever the
// input, it returns an error or runs the module within its limits; it never
// crashes, hangs, leaks or trips a sanitizer. The preparation pass V8 uses
// (which also exposes the module's state for reset in place) gets the same
// bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "warmpool/wasm/wasm.hpp"
#include "wasm/common/prepare.hpp"

namespace {

namespace ww = warmpool::wasm;

ww::Value zero_of(ww::ValueType type) {
  switch (type) {
    case ww::ValueType::i32: return std::int32_t{0};
    case ww::ValueType::i64: return std::int64_t{0};
    case ww::ValueType::f32: return 0.0f;
    case ww::ValueType::f64: return 0.0;
  }
  return std::int32_t{0};
}

// Small enough that every call ends in microseconds: fuel stops any loop, the
// memory cap any bomb. No deadline: its watchdog would only slow fuzzing down.
constexpr ww::Limits kLimits{.fuel = 100'000, .max_memory_pages = 32};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ww::internal::prepare_module(std::span(data, size), kLimits, "fuzz.wasm",
                                     {.expose_state = true});
  auto module =
      ww::Module::compile(ww::Engine::wabt(), std::span(data, size), kLimits, "fuzz.wasm");
  if (!module) return 0;
  auto linked = ww::Linker().define_wasi().link(*module);
  if (!linked) return 0;
  auto instance = ww::Instance::instantiate(*linked);
  if (!instance) return 0;
  for (const auto& function : module->exports()) {
    if (!instance->healthy() && !(instance->reset())) {
      auto fresh = ww::Instance::instantiate(*linked);
      if (!fresh) return 0;
      *instance = std::move(*fresh);
    }
    std::vector<ww::Value> args;
    for (ww::ValueType type : function.type.params) args.push_back(zero_of(type));
    (void)instance->call(function.name, args);
    (void)instance->call_bytes(function.name, std::span(data, size < 64 ? size : 64));
  }
  return 0;
}
