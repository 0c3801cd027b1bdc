// What the WASI file calls share (wasi_files.cpp: descriptors and the bytes
// in files; wasi_paths.cpp: listing and changing directories): the preview1
// errno numbering, reading the guest's arguments, and resolving a guest path
// beneath a descriptor's directory. Every path a guest names is resolved by
// open_beneath (or parent_beneath, which uses it for the path's directory), so
// `..`, absolute paths and symlinks cannot leave a mapped directory.
//
//   auto dir = wasi::directory(caller, fd);              // EBADF / ENOTDIR
//   auto target = wasi::parent_beneath((*dir)->host_fd, path);
//   ::mkdirat(target->parent.get(), target->name.c_str(), 0777);
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include "wasi_files.hpp"

namespace warmpool::extism::internal::wasi {

// WASI preview1 errno values (wasi/api.h).
enum Errno : std::uint32_t {
  kSuccess = 0,
  kAccess = 2,
  kBadFd = 8,
  kBusy = 10,
  kQuota = 19,
  kExist = 20,
  kFault = 21,
  kFileTooBig = 22,
  kInvalid = 28,
  kIo = 29,
  kIsDir = 31,
  kLoop = 32,
  kTooManyFiles = 33,
  kTooManyLinks = 34,
  kNameTooLong = 37,
  kNoEnt = 44,
  kNoSpace = 51,
  kNoSys = 52,
  kNotDir = 54,
  kNotEmpty = 55,
  kNotSupported = 58,
  kOverflow = 61,
  kReadOnlyFs = 69,
  kSpipe = 70,
  kCrossDevice = 75,
  kNotCapable = 76,
};

// A write beneath a `ro:` mapping: the errno the Rust runtime's read-only
// directory (wasi-common's Error::not_supported) gives, so a plugin sees what
// it sees there.
inline constexpr Errno kReadOnlyMapping = kNotSupported;

// lookupflags: follow a last-component symlink (still only beneath the mapping).
inline constexpr std::uint32_t kLookupSymlinkFollow = 1;

// WASI filetype values.
enum FileType : std::uint8_t {
  kUnknownType = 0,
  kBlockDevice = 1,
  kCharacterDevice = 2,
  kDirectory = 3,
  kRegularFile = 4,
  kSocketStream = 6,
  kSymbolicLink = 7,
};

// The WASI errno for a host errno. EXDEV is openat2's answer to a path that
// would leave its directory, hence ENOTCAPABLE.
std::uint32_t errno_of(int host);
std::uint8_t file_type(unsigned mode);

using Args = std::span<const std::uint64_t>;
inline std::uint32_t arg32(Args args, std::size_t i) {
  return static_cast<std::uint32_t>(args[i]);
}

template <class T>
bool store(wasm::Caller& caller, std::uint64_t address, T value) {
  return caller.memory().store(address, value).has_value();
}

WasiFiles* files_of(wasm::Caller& caller);
// The directory descriptor `fd`: EBADF when there is none, ENOTDIR for a file.
std::expected<WasiFiles::Entry*, std::uint32_t> directory(wasm::Caller& caller, std::uint32_t fd);
// The open file `fd`: EBADF when there is none or it is a directory (as the
// Rust runtime answers).
std::expected<WasiFiles::Entry*, std::uint32_t> file(wasm::Caller& caller, std::uint32_t fd);

// The guest's path bytes [ptr, ptr + len): ENAMETOOLONG from PATH_MAX bytes
// on (before any is read), EFAULT outside memory, EINVAL with a NUL inside;
// "" is ".".
std::expected<std::string, std::uint32_t> guest_path(wasm::Caller& caller, std::uint32_t ptr,
                                                     std::uint32_t len);

// An owned host descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const noexcept { return fd_; }
  int release() noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

// Opens `path` beneath directory `dir`, never outside it (openat2 with
// RESOLVE_BENEATH): -1 and errno on failure.
int open_beneath(int dir, const std::string& path, std::uint64_t flags, std::uint64_t mode = 0);

// The directory holding the last component of `path` (opened beneath `dir`)
// and that component, for the calls that create, remove or rename a name in
// it. A name with trailing slashes must be a directory (a symlink too is
// ENOTDIR) or missing; a last component `..` that would leave `dir` is
// ENOTCAPABLE.
struct PathBeneath {
  UniqueFd parent;
  std::string name;
};
std::expected<PathBeneath, std::uint32_t> parent_beneath(int dir, const std::string& path);

using Call = std::uint32_t (*)(wasm::Caller&, Args);
// Defines wasi_snapshot_preview1.`name` taking `params` and returning an errno.
void define(wasm::Linker& linker, const char* name, std::vector<wasm::ValueType> params, Call call);

// fd_readdir, path_create_directory, path_remove_directory, path_unlink_file,
// path_rename, path_link, path_symlink and path_readlink (wasi_paths.cpp).
void define_path_calls(wasm::Linker& linker);

}  // namespace warmpool::extism::internal::wasi
