// WASI preview1 functions that PDK runtimes (Go, TinyGo, Rust std, Haskell)
// import but warmpool's WASI subset does not provide. Without preopens there
// is no file to open, so each answers with the errno a runtime expects for
// that: EBADF for descriptor and path calls, ENOSYS for what cannot work.
// With allowed_paths, define_wasi_files replaces the file calls it implements.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "host_env.hpp"
#include "wasi_calls.hpp"

namespace warmpool::extism::internal {
namespace {

using wasm::ValueType;
constexpr ValueType i32 = ValueType::i32;
constexpr ValueType i64 = ValueType::i64;

struct Answer {
  const char* name;
  std::vector<ValueType> params;
  wasi::Errno errno_value;
};

const std::vector<Answer>& answers() {
  static const std::vector<Answer> table = {
      {"fd_prestat_get", {i32, i32}, wasi::kBadFd},
      {"fd_prestat_dir_name", {i32, i32, i32}, wasi::kBadFd},
      {"fd_read", {i32, i32, i32, i32}, wasi::kBadFd},
      {"fd_pread", {i32, i32, i32, i64, i32}, wasi::kBadFd},
      {"fd_pwrite", {i32, i32, i32, i64, i32}, wasi::kBadFd},
      {"fd_readdir", {i32, i32, i32, i64, i32}, wasi::kBadFd},
      {"fd_tell", {i32, i32}, wasi::kBadFd},
      {"fd_sync", {i32}, wasi::kBadFd},
      {"fd_datasync", {i32}, wasi::kBadFd},
      {"fd_advise", {i32, i64, i64, i32}, wasi::kBadFd},
      {"fd_allocate", {i32, i64, i64}, wasi::kBadFd},
      {"fd_renumber", {i32, i32}, wasi::kBadFd},
      {"fd_filestat_get", {i32, i32}, wasi::kBadFd},
      {"fd_filestat_set_size", {i32, i64}, wasi::kBadFd},
      {"fd_filestat_set_times", {i32, i64, i64, i32}, wasi::kBadFd},
      {"fd_fdstat_set_flags", {i32, i32}, wasi::kNoSys},
      {"fd_fdstat_set_rights", {i32, i64, i64}, wasi::kNoSys},
      {"path_open", {i32, i32, i32, i32, i32, i64, i64, i32, i32}, wasi::kBadFd},
      {"path_filestat_get", {i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"path_filestat_set_times", {i32, i32, i32, i32, i64, i64, i32}, wasi::kBadFd},
      {"path_create_directory", {i32, i32, i32}, wasi::kBadFd},
      {"path_remove_directory", {i32, i32, i32}, wasi::kBadFd},
      {"path_unlink_file", {i32, i32, i32}, wasi::kBadFd},
      {"path_rename", {i32, i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"path_link", {i32, i32, i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"path_symlink", {i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"path_readlink", {i32, i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"poll_oneoff", {i32, i32, i32, i32}, wasi::kNoSys},
      {"clock_res_get", {i32, i32}, wasi::kNoSys},
      {"sched_yield", {}, wasi::kSuccess},
      {"proc_raise", {i32}, wasi::kNoSys},
      {"sock_accept", {i32, i32, i32}, wasi::kBadFd},
      {"sock_recv", {i32, i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"sock_send", {i32, i32, i32, i32, i32}, wasi::kBadFd},
      {"sock_shutdown", {i32, i32}, wasi::kBadFd},
  };
  return table;
}

}  // namespace

void define_wasi_extras(wasm::Linker& linker) {
  for (const Answer& answer : answers()) {
    const std::uint32_t value = answer.errno_value;
    linker.define(
        "wasi_snapshot_preview1", answer.name,
        wasm::HostFunction({answer.params, {i32}},
                           [value](wasm::Caller&, std::span<const std::uint64_t>,
                                   std::span<std::uint64_t> results) { results[0] = value; }));
  }
}

}  // namespace warmpool::extism::internal
