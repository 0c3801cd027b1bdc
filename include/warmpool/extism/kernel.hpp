// warmpool/extism/kernel.hpp — the Extism kernel: the memory, input, output,
// error, config and vars a plugin reaches through `extism:host/env`.
//
// Every plugin instance has one Kernel (its host data). Handles are offsets
// into kernel memory, which is not the guest's linear memory but the memory of
// a small kernel wasm module instantiated beside the plugin, whose exports the
// plugin's memory imports (alloc, length, load/store, input_*) call directly:
// 0 is null, `length` is non-zero only at the start of a live block, loads
// and stores may use any address up to 8 bytes past the last block and do
// nothing (or read 0) beyond. Kernel memory is wiped at the start of every
// call; vars live as long as the instance. Spans and views into kernel memory
// (bytes, text, output) are valid until the next allocation. Host functions
// (PluginOptions::host_functions) reach the kernel of the calling plugin
// through `Kernel::of(caller)`:
//
//   options.host_functions.push_back({"extism:host/user", "shout",
//       warmpool::wasm::HostFunction::wrap(
//           [](warmpool::wasm::Caller& caller, std::int64_t text) -> std::int64_t {
//             auto& kernel = *warmpool::extism::Kernel::of(caller);
//             std::string loud(kernel.text(text));
//             for (char& c : loud) c = static_cast<char>(std::toupper(c));
//             return kernel.allocate_bytes(loud);   // a new handle the plugin owns
//           })});
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warmpool/wasm/caller.hpp"
#include "warmpool/wasm/engine.hpp"
#include "warmpool/wasm/function.hpp"

namespace warmpool::extism {

using Handle = std::uint64_t;

enum class LogLevel : std::int32_t { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };
std::string_view to_string(LogLevel level) noexcept;
// "trace", "debug", "info", "warn"/"warning", "error"; nullopt otherwise.
std::optional<LogLevel> log_level_named(std::string_view name) noexcept;

// Receives the plugin's log lines at or above the configured level.
using LogSink = std::function<void(LogLevel, std::string_view message)>;

// What every instance of one plugin shares, fixed when the plugin is created.
struct KernelSettings {
  std::map<std::string, std::string, std::less<>> config;
  std::optional<std::vector<std::string>> allowed_hosts;
  std::uint64_t max_var_bytes = 1024 * 1024;
  // Cap on kernel memory; alloc returns 0 past it.
  std::uint64_t max_memory_bytes = kDefaultMaxMemoryBytes;
  std::optional<LogLevel> log_level;  // nullopt: logging is off
  LogSink log_sink;
  std::uint64_t max_http_response_bytes = 50ull * 1024 * 1024;
  // http_headers answers only when enabled (the Rust runtime's
  // with_http_response_headers, the JS SDK's allowHttpResponseHeaders).
  bool http_response_headers = false;
  // timeout_ms: an HTTP request stops when the call's time is up.
  std::optional<std::chrono::milliseconds> timeout;

  static constexpr std::uint64_t kDefaultMaxMemoryBytes = 256ull * 1024 * 1024;
};

class Kernel {
 public:
  // `engine` runs the kernel module when no plugin instance provides one (attach()).
  explicit Kernel(std::shared_ptr<const KernelSettings> settings,
                  wasm::Engine engine = wasm::Engine::wabt());

  // Plugin's: kernel memory becomes the memory of `kernel_instance`, an instance of the
  // kernel module linked beside the plugin's.
  void attach(wasm::Instance& kernel_instance);

  // The kernel of the plugin instance a host function serves; null if that
  // instance is not an Extism plugin.
  static Kernel* of(wasm::Caller& caller) noexcept;

  // --- memory (handles) ---
  // A new block of n bytes, or 0 for n == 0 or when kernel memory is full.
  Handle allocate(std::uint64_t n);
  // A new block holding `bytes` (0 when empty or full): what a host function returns.
  Handle allocate_bytes(std::span<const std::uint8_t> bytes);
  Handle allocate_bytes(std::string_view text);
  void free(Handle handle);
  // The length of the live block starting at `handle`; 0 otherwise.
  std::uint64_t length(Handle handle) const;
  // The bytes of the live block at `handle` (empty when it is none).
  std::span<const std::uint8_t> bytes(Handle handle) const;
  std::string_view text(Handle handle) const;

  std::uint8_t load_u8(std::uint64_t address) const;
  std::uint64_t load_u64(std::uint64_t address) const;
  void store_u8(std::uint64_t address, std::uint8_t value);
  void store_u64(std::uint64_t address, std::uint64_t value);

  // --- the current call ---
  // Wipes kernel memory, output and error, and takes `input` (which must stay
  // valid until the call ends) and the host's per-call context.
  void begin_call(std::span<const std::uint8_t> input, void* user_context);
  void* user_context() const noexcept { return user_context_; }

  std::uint64_t input_length() const;
  std::uint8_t input_load_u8(std::uint64_t offset) const;
  std::uint64_t input_load_u64(std::uint64_t offset) const;
  // The input as a kernel block (copied in on first use).
  Handle input_handle();

  void set_output(Handle handle, std::uint64_t length);
  // The output bytes, or an error when (handle, length) is not inside kernel memory.
  std::expected<std::span<const std::uint8_t>, std::string> output() const;
  void set_error(Handle handle);
  Handle error_handle() const noexcept { return error_; }
  // The error the plugin (or a host function) set, empty when none.
  std::string_view error_text() const { return text(error_); }

  // --- config, vars, logs, HTTP ---
  const KernelSettings& settings() const noexcept { return *settings_; }
  std::optional<std::string_view> config(std::string_view key) const;
  std::optional<std::span<const std::uint8_t>> var(std::string_view key) const;
  // An empty value deletes the var. Errors: vars disabled, store full.
  std::expected<void, std::string> set_var(std::string_view key,
                                           std::span<const std::uint8_t> value);
  void clear_vars();
  void log(LogLevel level, std::string_view message) const;
  std::int32_t log_level_value() const noexcept;  // get_log_level: 0x7fffffff when off

  // http_request (src/extism/http.cpp): `request` is the JSON {"url", "method",
  // "headers"}, `body` 0 or the bytes to send; both are freed. The response
  // body as a new block (0 when empty), or an error: denied by allowed_hosts
  // (the official wording), a bad URL, a failed connection, the timeout, a
  // body over max_http_response_bytes. Up to 5 redirects are followed, each
  // target checked against allowed_hosts again.
  std::expected<Handle, std::string> http_request(Handle request, Handle body);
  std::int32_t http_status() const noexcept { return http_status_; }
  // The last response's headers as a JSON object block; 0 unless
  // settings().http_response_headers.
  Handle http_headers();

 private:
  // The kernel module's instance: the attached one, else one of this kernel's own.
  wasm::Instance& instance() const;
  // Kernel memory; valid until the next allocation.
  std::span<std::uint8_t> memory() const;

  std::shared_ptr<const KernelSettings> settings_;
  wasm::Engine engine_;
  mutable wasm::Instance* instance_ = nullptr;
  // The instance of its own, made on first use and shared with this kernel's copies (the one
  // Instance::reset restores host data from is taken before that use).
  struct OwnInstance;
  std::shared_ptr<OwnInstance> own_instance_;
  mutable std::optional<wasm::Function> alloc_;  // the kernel module's `alloc`

  Handle output_ = 0;
  std::uint64_t output_length_ = 0;
  Handle error_ = 0;
  void* user_context_ = nullptr;
  std::int32_t http_status_ = 0;
  std::string http_headers_json_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;

  std::map<std::string, std::vector<std::uint8_t>, std::less<>> vars_;
  std::uint64_t var_bytes_ = 0;
};

}  // namespace warmpool::extism
