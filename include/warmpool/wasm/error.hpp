// warmpool/wasm/error.hpp — the error value every WebAssembly loader returns.
//
// Errors are values (`std::expected<T, WasmError>`), never exceptions across
// the API. The kind says what went wrong in a way a host can act on (an HTTP
// server maps `trap` to 500 and `deadline` to 504); the message says it to a
// person and names the file, export, import or limit involved.
//
//   auto r = instance.call("fib", {std::int32_t{25}});
//   if (!r) std::cerr << r.error() << '\n';   // "trap: fib: unreachable executed"
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace warmpool::wasm {

enum class ErrorKind {
  compile,         // the bytes are not a valid module (or .wat that does not parse)
  link,            // an import the host does not provide
  instantiate,     // start function or data/elem initialisation failed
  trap,            // the guest trapped (unreachable, out-of-bounds, div by zero...)
  fuel_exhausted,  // the call used up its instruction budget
  deadline,        // the call ran past its wall-clock deadline
  memory_limit,    // the guest tried to grow memory past the cap
  resource_limit,  // the pool is at capacity
  abi,             // the plugin does not follow docs/plugin-abi.md, or no such export
  io,              // a file could not be read
};

constexpr std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::compile: return "compile";
    case ErrorKind::link: return "link";
    case ErrorKind::instantiate: return "instantiate";
    case ErrorKind::trap: return "trap";
    case ErrorKind::fuel_exhausted: return "fuel_exhausted";
    case ErrorKind::deadline: return "deadline";
    case ErrorKind::memory_limit: return "memory_limit";
    case ErrorKind::resource_limit: return "resource_limit";
    case ErrorKind::abi: return "abi";
    case ErrorKind::io: return "io";
  }
  return "unknown";
}

class WasmError {
 public:
  WasmError(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  // The pool's "at capacity" error (warmpool::PoolResourceLimit).
  static WasmError resource_limit(std::string message) {
    return {ErrorKind::resource_limit, std::move(message)};
  }

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }

  // True when the instance that produced this error must not be reused.
  bool poisons_instance() const noexcept {
    return kind_ == ErrorKind::trap || kind_ == ErrorKind::fuel_exhausted ||
           kind_ == ErrorKind::deadline || kind_ == ErrorKind::memory_limit;
  }

  friend std::ostream& operator<<(std::ostream& os, const WasmError& e) {
    return os << to_string(e.kind_) << ": " << e.message_;
  }

 private:
  ErrorKind kind_;
  std::string message_;
};

}  // namespace warmpool::wasm
