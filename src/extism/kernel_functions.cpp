// The `extism:host/env` imports as native host functions over the calling
// instance's Kernel (its host data). On V8 a single-module plugin's memory and
// input imports call the kernel module's exports instead (kernel_module.hpp,
// linked in plugin.cpp); these serve the rest, and every import of plugins on
// wabt or of several modules. Ownership rules follow the reference
// kernel: config_get, var_get, var_set and log_* free their argument blocks
// (after allocating their result, so that a PDK that frees the key again, as
// the Haskell one does, cannot free the result); output_set and error_set
// take theirs.
#include <cstdint>
#include <expected>
#include <string>

#include "host_env.hpp"
#include "warmpool/extism/kernel.hpp"

namespace warmpool::extism::internal {
namespace {

using wasm::Caller;

Kernel& kernel(Caller& caller) {
  // Every instance linked by Plugin gets a Kernel as host data.
  return *Kernel::of(caller);
}

std::uint64_t u(std::int64_t v) {
  return static_cast<std::uint64_t>(v);
}
std::int64_t s(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

void define_memory(wasm::Linker& l) {
  l.define(kEnvModule, "alloc",
           [](Caller& c, std::int64_t n) { return s(kernel(c).allocate(u(n))); });
  l.define(kEnvModule, "free", [](Caller& c, std::int64_t h) { kernel(c).free(u(h)); });
  l.define(kEnvModule, "length",
           [](Caller& c, std::int64_t h) { return s(kernel(c).length(u(h))); });
  l.define(kEnvModule, "length_unsafe",
           [](Caller& c, std::int64_t h) { return s(kernel(c).length(u(h))); });
  l.define(kEnvModule, "load_u8", [](Caller& c, std::int64_t p) {
    return static_cast<std::int32_t>(kernel(c).load_u8(u(p)));
  });
  l.define(kEnvModule, "load_u64",
           [](Caller& c, std::int64_t p) { return s(kernel(c).load_u64(u(p))); });
  l.define(kEnvModule, "store_u8", [](Caller& c, std::int64_t p, std::int32_t v) {
    kernel(c).store_u8(u(p), static_cast<std::uint8_t>(v));
  });
  l.define(kEnvModule, "store_u64",
           [](Caller& c, std::int64_t p, std::int64_t v) { kernel(c).store_u64(u(p), u(v)); });
}

void define_call_state(wasm::Linker& l) {
  l.define(kEnvModule, "input_length", [](Caller& c) { return s(kernel(c).input_length()); });
  l.define(kEnvModule, "input_load_u8", [](Caller& c, std::int64_t i) {
    return static_cast<std::int32_t>(kernel(c).input_load_u8(u(i)));
  });
  l.define(kEnvModule, "input_load_u64",
           [](Caller& c, std::int64_t i) { return s(kernel(c).input_load_u64(u(i))); });
  l.define(kEnvModule, "input_offset", [](Caller& c) { return s(kernel(c).input_handle()); });
  l.define(kEnvModule, "output_set",
           [](Caller& c, std::int64_t h, std::int64_t n) { kernel(c).set_output(u(h), u(n)); });
  l.define(kEnvModule, "error_set", [](Caller& c, std::int64_t h) { kernel(c).set_error(u(h)); });
  l.define(kEnvModule, "error_get", [](Caller& c) { return s(kernel(c).error_handle()); });
}

void define_config_and_vars(wasm::Linker& l) {
  l.define(kEnvModule, "config_get", [](Caller& c, std::int64_t key) {
    Kernel& k = kernel(c);
    auto value = k.config(k.text(u(key)));
    const Handle result = value ? k.allocate_bytes(*value) : 0;
    k.free(u(key));
    return s(result);
  });
  l.define(kEnvModule, "var_get", [](Caller& c, std::int64_t key) {
    Kernel& k = kernel(c);
    auto value = k.var(k.text(u(key)));
    const Handle result = value ? k.allocate_bytes(*value) : 0;
    k.free(u(key));
    return s(result);
  });
  l.define(kEnvModule, "var_set",
           [](Caller& c, std::int64_t key, std::int64_t value) -> std::expected<void, std::string> {
             Kernel& k = kernel(c);
             auto done = k.set_var(k.text(u(key)), k.bytes(u(value)));
             k.free(u(key));
             k.free(u(value));
             return done;
           });
}

template <LogLevel kLevel>
void define_log(wasm::Linker& l, const char* name) {
  l.define(kEnvModule, name, [](Caller& c, std::int64_t message) {
    Kernel& k = kernel(c);
    k.log(kLevel, k.text(u(message)));
    k.free(u(message));
  });
}

void define_logs_and_http(wasm::Linker& l) {
  define_log<LogLevel::trace>(l, "log_trace");
  define_log<LogLevel::debug>(l, "log_debug");
  define_log<LogLevel::info>(l, "log_info");
  define_log<LogLevel::warn>(l, "log_warn");
  define_log<LogLevel::error>(l, "log_error");
  l.define(kEnvModule, "get_log_level", [](Caller& c) { return kernel(c).log_level_value(); });
  l.define(kEnvModule, "http_request",
           [](Caller& c, std::int64_t request,
              std::int64_t body) -> std::expected<std::int64_t, std::string> {
             auto response = kernel(c).http_request(u(request), u(body));
             if (!response) return std::unexpected(response.error());
             return s(*response);
           });
  l.define(kEnvModule, "http_status_code", [](Caller& c) { return kernel(c).http_status(); });
  l.define(kEnvModule, "http_headers", [](Caller& c) { return s(kernel(c).http_headers()); });
}

}  // namespace

void define_kernel_functions(wasm::Linker& linker) {
  define_memory(linker);
  define_call_state(linker);
  define_config_and_vars(linker);
  define_logs_and_http(linker);
}

}  // namespace warmpool::extism::internal
