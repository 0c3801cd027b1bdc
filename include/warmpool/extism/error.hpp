// warmpool/extism/error.hpp — the error value every Extism operation returns.
//
// Errors are values (`std::expected<T, extism::Error>`). The kind tells a host
// what to do (a plugin that reported a failure can be called again; a trap or
// timeout means the instance must be thrown away); the message says it to a
// person. When the plugin itself set the error (`error_set`), the message is
// exactly the plugin's text, with nothing added.
//
//   auto out = plugin->call("count_vowels", "hello world");
//   if (!out && out.error().kind() == warmpool::extism::ErrorKind::plugin)
//     std::cerr << "the plugin said: " << out.error().message() << '\n';
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace warmpool::extism {

enum class ErrorKind {
  manifest,        // the manifest is not valid JSON, or a field is wrong
  io,              // a file could not be read
  hash,            // a wasm source does not have the manifest's sha256
  compile,         // the bytes are not a valid module
  link,            // an import nobody provides, or several modules (not yet supported)
  instantiate,     // initialisation (start function, _initialize, hs_init) failed
  not_found,       // "Function not found: NAME" (or not of type () -> () / () -> i32)
  plugin,          // the plugin set an error or returned a non-zero code
  trap,            // the guest trapped, or a host function failed the call
  timeout,         // the call ran past the manifest's timeout_ms
  memory_limit,    // the guest's memory hit memory.max_pages
  resource_limit,  // the pool is at capacity
};

constexpr std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::manifest: return "manifest";
    case ErrorKind::io: return "io";
    case ErrorKind::hash: return "hash";
    case ErrorKind::compile: return "compile";
    case ErrorKind::link: return "link";
    case ErrorKind::instantiate: return "instantiate";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::plugin: return "plugin";
    case ErrorKind::trap: return "trap";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::memory_limit: return "memory_limit";
    case ErrorKind::resource_limit: return "resource_limit";
  }
  return "unknown";
}

class Error {
 public:
  Error(ErrorKind kind, std::string message, std::int32_t return_code = 0)
      : kind_(kind), message_(std::move(message)), return_code_(return_code) {}

  // The pool's "at capacity" error (warmpool::PoolResourceLimit).
  static Error resource_limit(std::string message) {
    return {ErrorKind::resource_limit, std::move(message)};
  }

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }
  // The export's non-zero return code for ErrorKind::plugin (0 when it
  // returned 0 but set an error); 0 for the other kinds.
  std::int32_t return_code() const noexcept { return return_code_; }

  // True when the plugin instance that produced this error must not be reused.
  bool poisons_instance() const noexcept {
    return kind_ == ErrorKind::trap || kind_ == ErrorKind::timeout ||
           kind_ == ErrorKind::memory_limit;
  }

  friend std::ostream& operator<<(std::ostream& os, const Error& e) {
    return os << to_string(e.kind_) << ": " << e.message_;
  }

 private:
  ErrorKind kind_;
  std::string message_;
  std::int32_t return_code_;
};

}  // namespace warmpool::extism
