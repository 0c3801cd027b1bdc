// wasm/common/wasi.hpp — internal: the WASI preview1 subset, independent of any engine.
//
// Each function works on the guest's linear memory as a byte span and on a
// per-instance WasiContext (captured output, argv). An engine binds every
// import of module `wasi_snapshot_preview1` to the WasiFunction of the same
// name, checks the import's type against `type`, converts the guest's
// arguments to raw 64-bit values (i32 zero-extended, i64 as its bits) and
// returns the result as an i32 (or stops the call on WasiExit).
//
//   const internal::WasiFunction* f = internal::find_wasi_function("fd_write");
//   if (f == nullptr) return link_error("unknown import 'wasi_snapshot_preview1.fd_write'");
//   std::uint64_t args[] = {fd, iovs, iovs_len, nwritten_ptr};
//   internal::WasiResult r = f->handler(context, memory_span, args);
//   if (!r) stop_call_with_exit_code(r.error().code);
//   else return_i32(*r);
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm::internal {

inline constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";

// What the guest sees of the host for one instance. stdout_text/stderr_text
// collect fd 1/2 writes; the engine clears them when a call starts.
struct WasiContext {
  std::string program_name;  // argv[0], the module name
  std::string stdout_text;
  std::string stderr_text;
};

// The guest called proc_exit(code).
struct WasiExit {
  std::int32_t code;
};

// A WASI errno for the guest (0 = success), or the end of the call.
using WasiResult = std::expected<std::int32_t, WasiExit>;

using WasiHandler = WasiResult (*)(WasiContext& context, std::span<std::uint8_t> memory,
                                   std::span<const std::uint64_t> args);

struct WasiFunction {
  std::string_view name;
  FunctionType type;  // results: {i32}, or {} for proc_exit
  WasiHandler handler;
};

// Captured output per stream and call is capped; writes beyond it fail with
// ENOSPC so a chatty guest cannot exhaust the host's memory.
inline constexpr std::size_t kMaxCapturedOutput = std::size_t{16} << 20;

std::span<const WasiFunction> wasi_functions();
const WasiFunction* find_wasi_function(std::string_view name);

}  // namespace warmpool::wasm::internal
