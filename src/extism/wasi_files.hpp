// WASI preopens for Extism's allowed_paths: the mapped host directories as
// preopened descriptors (3, 4, ...), and the WASI file calls over them:
// opening, reading, writing, seeking, stat, listing (fd_readdir), creating and
// removing directories, unlinking, renaming, hard and symbolic links, and
// renumbering descriptors. Every path is resolved by the kernel with openat2's
// RESOLVE_BENEATH (wasi_calls.hpp), so `..`, absolute paths and symlinks
// cannot leave a mapped directory (ENOTCAPABLE); any write beneath a `ro:`
// mapping fails with ENOTSUP, as on the Rust runtime. fd_write to fds 1 and 2
// is captured as the guest's stdout and stderr. Descriptors
// belong to one instance; Instance::reset keeps only the preopens.
//
//   WasiFiles files(manifest.allowed_paths);   // PluginData holds one per instance
//   define_wasi_files(linker);                 // after define_wasi_extras
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "warmpool/extism/manifest.hpp"
#include "warmpool/wasm/linker.hpp"

namespace warmpool::extism::internal {

class WasiFiles {
 public:
  // Opens the mapped directories; a directory that cannot be opened is left out.
  explicit WasiFiles(const std::vector<PathMapping>& preopens);
  // A copy has the same preopens and no open files (what Instance::reset restores).
  WasiFiles(const WasiFiles& other);
  WasiFiles& operator=(const WasiFiles&) = delete;
  ~WasiFiles();

  struct Entry {
    int host_fd = -1;
    bool directory = false;
    bool read_only = true;
    std::string guest_path;  // preopens only
    bool preopen = false;
  };
  // The entry of WASI descriptor `fd`, or null.
  Entry* find(std::uint32_t fd);
  // A new descriptor for an open host file or directory; nullopt when the
  // instance already holds kMaxOpenFiles (host descriptors are a process-wide
  // resource a plugin must not exhaust).
  std::optional<std::uint32_t> add(Entry entry);
  static constexpr std::size_t kMaxOpenFiles = 128;
  bool close(std::uint32_t fd);
  // Moves descriptor `from` to number `to`, closing the file `to` held; false
  // (nothing changed) unless both are open and neither is a preopen.
  bool renumber(std::uint32_t from, std::uint32_t to);

  // What the guest wrote to fd 1 and fd 2 during the current call.
  std::string stdout_text;
  std::string stderr_text;

 private:
  static constexpr std::uint32_t kFirstFd = 3;
  std::vector<Entry> entries_;  // WASI fd = kFirstFd + index
};

// Overrides the WASI file calls with ones over the calling instance's WasiFiles
// (its PluginData). Call after Linker::define_wasi() and define_wasi_extras().
void define_wasi_files(wasm::Linker& linker);

}  // namespace warmpool::extism::internal
