// warmpool/wasm/types.hpp — values, limits and call results shared by every
// WebAssembly loader (warmpool/wasm/wabt.hpp, warmpool/wasm/v8.hpp).
//
//   warmpool::wasm::Limits limits{.fuel = 10'000'000,
//                                 .timeout = std::chrono::milliseconds(50),
//                                 .max_memory_pages = 256};
//   auto module = warmpool::wasm::wabt::Module::load_file("fib.wasm", limits);
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace warmpool::wasm {

enum class ValueType { i32, i64, f32, f64 };

// A WebAssembly number. The alternative's index matches ValueType.
using Value = std::variant<std::int32_t, std::int64_t, float, double>;

// Per-call limits, fixed when a module is compiled (metering and the memory
// cap are compiled into the module). Zero means "no limit" for each field.
struct Limits {
  // Instruction budget for one call, counted at function entries and loop
  // headers (see docs/plugin-abi.md for what a unit is).
  std::uint64_t fuel = 0;
  // Wall-clock deadline for one call.
  std::chrono::milliseconds timeout{0};
  // Cap on linear memory, in 64 KiB pages; growth past it fails (memory.grow
  // returns -1, which the C library reports as out of memory).
  std::uint32_t max_memory_pages = 0;
};

struct FunctionType {
  std::vector<ValueType> params;
  std::vector<ValueType> results;
};

struct ExportedFunction {
  std::string name;
  FunctionType type;
};

// What a bytes-in/bytes-out call (docs/plugin-abi.md) produced.
struct BytesOutput {
  std::string output;       // the bytes the export returned
  std::string stdout_text;  // what the guest wrote to fd 1 during this call
  std::string stderr_text;  // what the guest wrote to fd 2 during this call
};

}  // namespace warmpool::wasm
