#include "wasm/common/wasi.hpp"

#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

namespace warmpool::wasm::internal {
namespace {

// WASI preview1 errno values.
constexpr std::int32_t kSuccess = 0;
constexpr std::int32_t kBadf = 8;
constexpr std::int32_t kFault = 21;
constexpr std::int32_t kInval = 28;
constexpr std::int32_t kIo = 29;
constexpr std::int32_t kNospc = 51;
constexpr std::int32_t kSpipe = 70;

constexpr std::uint8_t kFiletypeCharacterDevice = 2;
constexpr std::uint64_t kRightFdRead = 1ull << 1;
constexpr std::uint64_t kRightFdWrite = 1ull << 6;

// Bounds-checked little-endian access to guest memory (wasm is little-endian,
// and so is every host warmpool supports).
class Guest {
 public:
  explicit Guest(std::span<std::uint8_t> memory) : memory_(memory) {}

  std::optional<std::span<std::uint8_t>> bytes(std::uint64_t ptr, std::uint64_t len) const {
    if (ptr > memory_.size() || len > memory_.size() - ptr) return std::nullopt;
    return memory_.subspan(static_cast<std::size_t>(ptr), static_cast<std::size_t>(len));
  }

  template <class T>
  std::optional<T> load(std::uint64_t ptr) const {
    auto span = bytes(ptr, sizeof(T));
    if (!span) return std::nullopt;
    T value;
    std::memcpy(&value, span->data(), sizeof(T));
    return value;
  }

  template <class T>
  bool store(std::uint64_t ptr, T value) const {
    auto span = bytes(ptr, sizeof(T));
    if (!span) return false;
    std::memcpy(span->data(), &value, sizeof(T));
    return true;
  }

 private:
  std::span<std::uint8_t> memory_;
};

WasiResult args_sizes_get(WasiContext& ctx, std::span<std::uint8_t> memory,
                          std::span<const std::uint64_t> args) {
  Guest guest(memory);
  const auto argc = std::uint32_t{1};
  const auto buf_size = static_cast<std::uint32_t>(ctx.program_name.size() + 1);
  if (!guest.store(args[0], argc) || !guest.store(args[1], buf_size)) return kFault;
  return kSuccess;
}

WasiResult args_get(WasiContext& ctx, std::span<std::uint8_t> memory,
                    std::span<const std::uint64_t> args) {
  Guest guest(memory);
  auto buf = guest.bytes(args[1], ctx.program_name.size() + 1);
  if (!buf || !guest.store(args[0], static_cast<std::uint32_t>(args[1]))) return kFault;
  std::copy(ctx.program_name.begin(), ctx.program_name.end(), buf->begin());
  buf->back() = 0;
  return kSuccess;
}

WasiResult environ_sizes_get(WasiContext&, std::span<std::uint8_t> memory,
                             std::span<const std::uint64_t> args) {
  Guest guest(memory);
  if (!guest.store(args[0], std::uint32_t{0}) || !guest.store(args[1], std::uint32_t{0})) {
    return kFault;
  }
  return kSuccess;
}

WasiResult environ_get(WasiContext&, std::span<std::uint8_t>, std::span<const std::uint64_t>) {
  return kSuccess;  // no variables: nothing to write
}

WasiResult clock_time_get(WasiContext&, std::span<std::uint8_t> memory,
                          std::span<const std::uint64_t> args) {
  static constexpr std::array<clockid_t, 4> kClocks = {
      CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
  const std::uint64_t id = args[0];
  if (id >= kClocks.size()) return kInval;
  timespec ts{};
  if (clock_gettime(kClocks[id], &ts) != 0) return kIo;
  const auto nanos = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                     static_cast<std::uint64_t>(ts.tv_nsec);
  if (!Guest(memory).store(args[2], nanos)) return kFault;
  return kSuccess;
}

bool is_stdio(std::uint64_t fd) {
  return fd <= 2;
}

WasiResult fd_close(WasiContext&, std::span<std::uint8_t>, std::span<const std::uint64_t> args) {
  return is_stdio(args[0]) ? kSuccess : kBadf;
}

WasiResult fd_fdstat_get(WasiContext&, std::span<std::uint8_t> memory,
                         std::span<const std::uint64_t> args) {
  const std::uint64_t fd = args[0];
  if (!is_stdio(fd)) return kBadf;
  // struct fdstat { u8 filetype; u16 flags; u64 rights_base; u64 rights_inheriting; }
  // A character device without seek rights is a terminal to wasi-libc, which
  // keeps stdout line-buffered, so printf("...\n") reaches this call's capture.
  auto out = Guest(memory).bytes(args[1], 24);
  if (!out) return kFault;
  std::fill(out->begin(), out->end(), std::uint8_t{0});
  (*out)[0] = kFiletypeCharacterDevice;
  const std::uint64_t rights = fd == 0 ? kRightFdRead : kRightFdWrite;
  std::memcpy(out->data() + 8, &rights, sizeof rights);
  return kSuccess;
}

WasiResult fd_seek(WasiContext&, std::span<std::uint8_t>, std::span<const std::uint64_t> args) {
  return is_stdio(args[0]) ? kSpipe : kBadf;
}

WasiResult fd_write(WasiContext& ctx, std::span<std::uint8_t> memory,
                    std::span<const std::uint64_t> args) {
  const std::uint64_t fd = args[0];
  if (fd != 1 && fd != 2) return kBadf;
  std::string& sink = fd == 1 ? ctx.stdout_text : ctx.stderr_text;
  Guest guest(memory);
  const std::uint64_t iovs = args[1];
  const std::uint64_t count = args[2];
  if (!guest.bytes(iovs, count * 8)) return kFault;
  std::uint64_t written = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto base = guest.load<std::uint32_t>(iovs + i * 8);
    const auto len = guest.load<std::uint32_t>(iovs + i * 8 + 4);
    if (!base || !len) return kFault;
    auto data = guest.bytes(*base, *len);
    if (!data) return kFault;
    if (sink.size() + data->size() > kMaxCapturedOutput) return kNospc;
    sink.append(reinterpret_cast<const char*>(data->data()), data->size());
    written += *len;
  }
  if (!guest.store(args[3], static_cast<std::uint32_t>(written))) return kFault;
  return kSuccess;
}

WasiResult proc_exit(WasiContext&, std::span<std::uint8_t>, std::span<const std::uint64_t> args) {
  return std::unexpected(WasiExit{static_cast<std::int32_t>(args[0])});
}

WasiResult random_get(WasiContext&, std::span<std::uint8_t> memory,
                      std::span<const std::uint64_t> args) {
  auto buf = Guest(memory).bytes(args[0], args[1]);
  if (!buf) return kFault;
  std::size_t filled = 0;
  while (filled < buf->size()) {
    const ssize_t n = getrandom(buf->data() + filled, buf->size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return kIo;
    }
    filled += static_cast<std::size_t>(n);
  }
  return kSuccess;
}

using enum ValueType;

const std::array<WasiFunction, 11>& table() {
  static const std::array<WasiFunction, 11> functions = {{
      {"args_get", {{i32, i32}, {i32}}, &args_get},
      {"args_sizes_get", {{i32, i32}, {i32}}, &args_sizes_get},
      {"clock_time_get", {{i32, i64, i32}, {i32}}, &clock_time_get},
      {"environ_get", {{i32, i32}, {i32}}, &environ_get},
      {"environ_sizes_get", {{i32, i32}, {i32}}, &environ_sizes_get},
      {"fd_close", {{i32}, {i32}}, &fd_close},
      {"fd_fdstat_get", {{i32, i32}, {i32}}, &fd_fdstat_get},
      {"fd_seek", {{i32, i64, i32, i32}, {i32}}, &fd_seek},
      {"fd_write", {{i32, i32, i32, i32}, {i32}}, &fd_write},
      {"proc_exit", {{i32}, {}}, &proc_exit},
      {"random_get", {{i32, i32}, {i32}}, &random_get},
  }};
  return functions;
}

}  // namespace

std::span<const WasiFunction> wasi_functions() {
  return table();
}

const WasiFunction* find_wasi_function(std::string_view name) {
  for (const WasiFunction& f : table()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace warmpool::wasm::internal
