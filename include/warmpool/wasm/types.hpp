// warmpool/wasm/types.hpp — values, signatures and limits of the embedding
// API (warmpool/wasm/wasm.hpp), the same on every engine.
//
//   warmpool::wasm::Limits limits{.fuel = 10'000'000,
//                                 .timeout = std::chrono::milliseconds(50),
//                                 .max_memory_pages = 256};
//   auto module = warmpool::wasm::Module::load_file(engine, "fib.wasm", limits);
//   for (const auto& f : module->exports()) std::cout << f.name << to_string(f.type) << '\n';
//
// Raw values: host functions declared with a run-time signature and the
// engines exchange values as 64-bit patterns (`std::uint64_t`): an i32 in the
// low 32 bits, zero-extended; an i64 as its bits; an f32 by its bits in the
// low 32 bits; an f64 by its bits. to_raw() and from_raw() convert.
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace warmpool::wasm {

enum class ValueType { i32, i64, f32, f64 };

constexpr std::string_view to_string(ValueType type) noexcept {
  switch (type) {
    case ValueType::i32: return "i32";
    case ValueType::i64: return "i64";
    case ValueType::f32: return "f32";
    case ValueType::f64: return "f64";
  }
  return "?";
}

// A WebAssembly number. The alternative's index matches ValueType.
using Value = std::variant<std::int32_t, std::int64_t, float, double>;

constexpr ValueType type_of(const Value& value) noexcept {
  return static_cast<ValueType>(value.index());
}

constexpr std::uint64_t to_raw(const Value& value) noexcept {
  return std::visit(
      [](auto v) -> std::uint64_t {
        using T = decltype(v);
        if constexpr (std::is_same_v<T, std::int32_t>) return static_cast<std::uint32_t>(v);
        if constexpr (std::is_same_v<T, std::int64_t>) return static_cast<std::uint64_t>(v);
        if constexpr (std::is_same_v<T, float>) return std::bit_cast<std::uint32_t>(v);
        if constexpr (std::is_same_v<T, double>) return std::bit_cast<std::uint64_t>(v);
      },
      value);
}

constexpr Value from_raw(std::uint64_t bits, ValueType type) noexcept {
  switch (type) {
    case ValueType::i32: return static_cast<std::int32_t>(static_cast<std::uint32_t>(bits));
    case ValueType::i64: return static_cast<std::int64_t>(bits);
    case ValueType::f32: return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    case ValueType::f64: return std::bit_cast<double>(bits);
  }
  return std::int32_t{0};
}

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

// The C++ type of each wasm number type: what typed calls and host functions
// take and return.
template <class T>
struct WasmTypeOf;
template <>
struct WasmTypeOf<std::int32_t> : std::integral_constant<ValueType, ValueType::i32> {};
template <>
struct WasmTypeOf<std::int64_t> : std::integral_constant<ValueType, ValueType::i64> {};
template <>
struct WasmTypeOf<float> : std::integral_constant<ValueType, ValueType::f32> {};
template <>
struct WasmTypeOf<double> : std::integral_constant<ValueType, ValueType::f64> {};

template <class T>
concept WasmNumber = requires {
  WasmTypeOf<T>::value;
};

template <WasmNumber T>
constexpr std::uint64_t to_raw(T value) noexcept {
  return to_raw(Value(value));
}

template <WasmNumber T>
constexpr T from_raw_as(std::uint64_t bits) noexcept {
  return std::get<T>(from_raw(bits, WasmTypeOf<T>::value));
}

struct FunctionType {
  std::vector<ValueType> params;
  std::vector<ValueType> results;

  friend bool operator==(const FunctionType&, const FunctionType&) = default;
};

// "(i32, i32) -> (i64)", "() -> ()": the one spelling every message uses.
std::string to_string(const FunctionType& type);
// "(i64, i32)": the types of call arguments, for messages.
std::string to_string(const std::vector<ValueType>& types);

struct ExportedFunction {
  std::string name;
  FunctionType type;
};

enum class ExternKind { function, table, memory, global, tag };

// What a module imports. Only functions can be provided by a host (Linker).
struct ImportType {
  std::string module;
  std::string name;
  ExternKind kind = ExternKind::function;
  // For functions; nullopt when the signature uses types warmpool cannot
  // represent (v128, references).
  std::optional<FunctionType> type;
};

// What a bytes-in/bytes-out call (docs/plugin-abi.md) produced.
struct BytesOutput {
  std::string output;       // the bytes the export returned
  std::string stdout_text;  // what the guest wrote to fd 1 during this call
  std::string stderr_text;  // what the guest wrote to fd 2 during this call
};

}  // namespace warmpool::wasm
