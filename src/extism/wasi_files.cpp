#include "wasi_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <expected>
#include <limits>

#include "wasi_calls.hpp"

namespace warmpool::extism::internal {
namespace {

using namespace wasi;
using wasm::ValueType;
constexpr ValueType i32 = ValueType::i32;
constexpr ValueType i64 = ValueType::i64;

constexpr std::uint64_t kRightFdRead = 1u << 1;
constexpr std::uint64_t kRightFdWrite = 1u << 6;
constexpr std::uint32_t kOpenCreate = 1, kOpenDirectory = 2, kOpenExclusive = 4, kOpenTruncate = 8;
constexpr std::uint32_t kFdAppend = 1;
constexpr std::uint32_t kSetAtim = 1, kSetAtimNow = 2;  // MTIM and MTIM_NOW are these << 2
// What a created file's mode is before the umask, as in the Rust runtime.
constexpr std::uint64_t kCreatedFileMode = 0666;

std::uint32_t write_filestat(wasm::Caller& caller, std::uint64_t at, const struct stat& st) {
  auto out = caller.memory().span(at, 64);
  if (!out) return kFault;
  std::memset(out->data(), 0, 64);
  auto put = [&](std::size_t offset, auto value) {
    std::memcpy(out->data() + offset, &value, sizeof(value));
  };
  put(0, static_cast<std::uint64_t>(st.st_dev));
  put(8, static_cast<std::uint64_t>(st.st_ino));
  put(16, file_type(st.st_mode));
  put(24, static_cast<std::uint64_t>(st.st_nlink));
  put(32, static_cast<std::uint64_t>(st.st_size));
  auto ns = [](const timespec& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(t.tv_nsec);
  };
  put(40, ns(st.st_atim));
  put(48, ns(st.st_mtim));
  put(56, ns(st.st_ctim));
  return kSuccess;
}

// Moves bytes between a host descriptor and the guest's iovec array at
// `iovs`: `move(buffer, done)` reads into or writes from one buffer (`done`
// bytes were moved before it) and returns what it moved or -1 with errno. It
// stops at the first short transfer and stores the total at `total_at`. The
// array must lie in guest memory and empty buffers cost no system call, so a
// hostile count is bounded by the guest's memory, not by 2^32 host calls.
template <class Move>
std::uint32_t through_iovecs(wasm::Caller& caller, std::uint32_t iovs, std::uint32_t count,
                             std::uint32_t total_at, Move move) {
  if (!caller.memory().span(iovs, 8ull * count)) return kFault;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t iov = iovs + 8ull * i;
    auto base = caller.memory().load<std::uint32_t>(iov);
    auto length = caller.memory().load<std::uint32_t>(iov + 4);
    if (!base || !length) return kFault;
    auto buffer = caller.memory().span(*base, *length);
    if (!buffer) return kFault;
    if (buffer->empty()) continue;
    const ssize_t n = move(*buffer, total);
    if (n < 0) return errno_of(errno);
    total += static_cast<std::uint64_t>(n);
    if (static_cast<std::size_t>(n) < buffer->size()) break;
  }
  return store<std::uint32_t>(caller, total_at, static_cast<std::uint32_t>(total)) ? kSuccess
                                                                                   : kFault;
}

std::uint32_t prestat_get(wasm::Caller& caller, Args args) {
  WasiFiles* files = files_of(caller);
  auto* entry = files ? files->find(arg32(args, 0)) : nullptr;
  if (entry == nullptr || !entry->preopen) return kBadFd;
  const std::uint64_t at = arg32(args, 1);
  if (!store<std::uint32_t>(caller, at, 0) ||
      !store<std::uint32_t>(caller, at + 4, static_cast<std::uint32_t>(entry->guest_path.size()))) {
    return kFault;
  }
  return kSuccess;
}

std::uint32_t prestat_dir_name(wasm::Caller& caller, Args args) {
  WasiFiles* files = files_of(caller);
  auto* entry = files ? files->find(arg32(args, 0)) : nullptr;
  if (entry == nullptr || !entry->preopen) return kBadFd;
  const std::string& name = entry->guest_path;
  if (arg32(args, 2) < name.size()) return kInvalid;
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
  return caller.memory().write(arg32(args, 1), bytes) ? kSuccess : kFault;
}

std::uint32_t path_open(wasm::Caller& caller, Args args) {
  auto dir = directory(caller, arg32(args, 0));
  if (!dir) return dir.error();
  auto path = guest_path(caller, arg32(args, 2), arg32(args, 3));
  if (!path) return path.error();
  const std::uint32_t oflags = arg32(args, 4);
  if ((oflags & kOpenDirectory) != 0 &&
      (oflags & (kOpenCreate | kOpenExclusive | kOpenTruncate)) != 0) {
    return kInvalid;
  }
  const bool appends = (arg32(args, 7) & kFdAppend) != 0;
  const bool writes =
      (args[5] & kRightFdWrite) != 0 || appends || (oflags & (kOpenCreate | kOpenTruncate)) != 0;
  if (writes && (*dir)->read_only) return kReadOnlyMapping;
  std::uint64_t flags = O_RDONLY;
  if (writes) flags = (args[5] & kRightFdRead) != 0 ? O_RDWR : O_WRONLY;
  if ((oflags & kOpenDirectory) != 0) flags |= O_DIRECTORY;
  if ((oflags & kOpenCreate) != 0) flags |= O_CREAT;
  if ((oflags & kOpenExclusive) != 0) flags |= O_EXCL;
  if ((oflags & kOpenTruncate) != 0) flags |= O_TRUNC;
  if (appends) flags |= O_APPEND;
  // As wasi-common: without LOOKUPFLAGS_SYMLINK_FOLLOW a last-component
  // symlink is not opened (ELOOP, ENOTDIR with O_DIRECTORY); with it, the
  // link is followed, beneath the mapping only.
  if ((arg32(args, 1) & kLookupSymlinkFollow) == 0) flags |= O_NOFOLLOW;
  // openat2 refuses a mode without O_CREAT.
  const std::uint64_t mode = (flags & O_CREAT) != 0 ? kCreatedFileMode : 0;
  UniqueFd opened(open_beneath((*dir)->host_fd, *path, flags, mode));
  if (!opened) return errno_of(errno);
  struct stat st {};
  if (::fstat(opened.get(), &st) != 0) return errno_of(errno);
  WasiFiles* files = files_of(caller);
  auto wasi_fd = files->add({opened.get(), S_ISDIR(st.st_mode), (*dir)->read_only, {}, false});
  if (!wasi_fd) return kTooManyFiles;
  opened.release();
  return store<std::uint32_t>(caller, arg32(args, 8), *wasi_fd) ? kSuccess : kFault;
}

std::uint32_t fd_read(wasm::Caller& caller, Args args) {
  if (arg32(args, 0) == 0)
    return store<std::uint32_t>(caller, arg32(args, 3), 0) ? kSuccess : kFault;
  auto entry = file(caller, arg32(args, 0));
  if (!entry) return entry.error();
  const int fd = (*entry)->host_fd;
  return through_iovecs(caller, arg32(args, 1), arg32(args, 2), arg32(args, 3),
                        [fd](std::span<std::uint8_t> buffer, std::uint64_t) {
                          return ::read(fd, buffer.data(), buffer.size());
                        });
}

std::uint32_t fd_pread(wasm::Caller& caller, Args args) {
  if (arg32(args, 0) <= 2) return kSpipe;
  auto entry = file(caller, arg32(args, 0));
  if (!entry) return entry.error();
  const int fd = (*entry)->host_fd;
  const std::uint64_t offset = args[3];
  return through_iovecs(caller, arg32(args, 1), arg32(args, 2), arg32(args, 4),
                        [fd, offset](std::span<std::uint8_t> buffer, std::uint64_t done) {
                          return ::pread(fd, buffer.data(), buffer.size(),
                                         static_cast<off_t>(offset + done));
                        });
}

std::uint32_t fd_write(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  WasiFiles* files = files_of(caller);
  if (files == nullptr || fd == 0) return kBadFd;
  if (fd <= 2) {
    std::string& sink = fd == 1 ? files->stdout_text : files->stderr_text;
    return through_iovecs(caller, arg32(args, 1), arg32(args, 2), arg32(args, 3),
                          [&sink](std::span<std::uint8_t> buffer, std::uint64_t) {
                            sink.append(buffer.begin(), buffer.end());
                            return static_cast<ssize_t>(buffer.size());
                          });
  }
  auto entry = file(caller, fd);
  if (!entry) return entry.error();
  const int host = (*entry)->host_fd;
  return through_iovecs(caller, arg32(args, 1), arg32(args, 2), arg32(args, 3),
                        [host](std::span<std::uint8_t> buffer, std::uint64_t) {
                          return ::write(host, buffer.data(), buffer.size());
                        });
}

std::uint32_t fd_pwrite(wasm::Caller& caller, Args args) {
  if (arg32(args, 0) <= 2) return kSpipe;
  auto entry = file(caller, arg32(args, 0));
  if (!entry) return entry.error();
  const int fd = (*entry)->host_fd;
  const std::uint64_t offset = args[3];
  return through_iovecs(caller, arg32(args, 1), arg32(args, 2), arg32(args, 4),
                        [fd, offset](std::span<std::uint8_t> buffer, std::uint64_t done) {
                          return ::pwrite(fd, buffer.data(), buffer.size(),
                                          static_cast<off_t>(offset + done));
                        });
}

std::uint32_t fd_close(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  if (fd <= 2) return kSuccess;
  WasiFiles* files = files_of(caller);
  return files != nullptr && files->close(fd) ? kSuccess : kBadFd;
}

// Moves descriptor `from` to number `to`, closing what `to` held; both must be
// open. As wasi-common, a preopen is never renumbered (ENOTSUP), and neither
// are fds 0-2 here: they are the captured stdio, not host descriptors.
std::uint32_t fd_renumber(wasm::Caller& caller, Args args) {
  const std::uint32_t from = arg32(args, 0);
  const std::uint32_t to = arg32(args, 1);
  WasiFiles* files = files_of(caller);
  if (files == nullptr) return kBadFd;
  if (from <= 2 || to <= 2) return kNotSupported;
  const WasiFiles::Entry* moved = files->find(from);
  const WasiFiles::Entry* replaced = files->find(to);
  if (moved == nullptr || replaced == nullptr) return kBadFd;
  return files->renumber(from, to) ? kSuccess : kNotSupported;  // refused: a preopen
}

// lseek on `fd`'s file; fds 0-2 are pipes.
std::uint32_t seek(wasm::Caller& caller, std::uint32_t fd, off_t offset, int whence,
                   std::uint32_t result_at) {
  if (fd <= 2) return kSpipe;
  auto entry = file(caller, fd);
  if (!entry) return entry.error();
  const off_t at = ::lseek((*entry)->host_fd, offset, whence);
  if (at < 0) return errno_of(errno);
  return store<std::uint64_t>(caller, result_at, static_cast<std::uint64_t>(at)) ? kSuccess
                                                                                 : kFault;
}

std::uint32_t fd_seek(wasm::Caller& caller, Args args) {
  const std::uint32_t whence = arg32(args, 2);
  if (whence > 2) return kInvalid;
  return seek(caller, arg32(args, 0), static_cast<off_t>(args[1]), static_cast<int>(whence),
              arg32(args, 3));
}

std::uint32_t fd_tell(wasm::Caller& caller, Args args) {
  return seek(caller, arg32(args, 0), 0, SEEK_CUR, arg32(args, 1));
}

std::uint32_t fd_filestat_set_size(wasm::Caller& caller, Args args) {
  auto entry = file(caller, arg32(args, 0));
  if (!entry) return entry.error();
  if (args[1] > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) return kInvalid;
  return ::ftruncate((*entry)->host_fd, static_cast<off_t>(args[1])) == 0 ? kSuccess
                                                                          : errno_of(errno);
}

// fsync or fdatasync; fds 1 and 2 are captured in memory, so there is nothing to flush.
template <int (*Sync)(int)>
std::uint32_t sync_file(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  if (fd == 1 || fd == 2) return kSuccess;
  auto entry = file(caller, fd);
  if (!entry) return entry.error();
  return Sync((*entry)->host_fd) == 0 ? kSuccess : errno_of(errno);
}

std::uint32_t fd_fdstat_get(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  std::uint8_t type = kCharacterDevice;
  if (fd > 2) {
    WasiFiles* files = files_of(caller);
    auto* entry = files ? files->find(fd) : nullptr;
    if (entry == nullptr) return kBadFd;
    type = entry->directory ? kDirectory : kRegularFile;
  }
  auto out = caller.memory().span(arg32(args, 1), 24);
  if (!out) return kFault;
  std::memset(out->data(), 0, 24);
  (*out)[0] = type;
  const std::uint64_t all_rights = ~std::uint64_t{0} >> 34;  // the 30 rights of preview1
  std::memcpy(out->data() + 8, &all_rights, 8);
  std::memcpy(out->data() + 16, &all_rights, 8);
  return kSuccess;
}

std::uint32_t fd_filestat_get(wasm::Caller& caller, Args args) {
  WasiFiles* files = files_of(caller);
  auto* entry = files ? files->find(arg32(args, 0)) : nullptr;
  if (entry == nullptr) return kBadFd;
  struct stat st {};
  if (::fstat(entry->host_fd, &st) != 0) return errno_of(errno);
  return write_filestat(caller, arg32(args, 1), st);
}

std::uint32_t path_filestat_get(wasm::Caller& caller, Args args) {
  auto dir = directory(caller, arg32(args, 0));
  if (!dir) return dir.error();
  auto path = guest_path(caller, arg32(args, 2), arg32(args, 3));
  if (!path) return path.error();
  // Without LOOKUPFLAGS_SYMLINK_FOLLOW (lstat) a last-component symlink is
  // described itself; O_PATH | O_NOFOLLOW opens the link, not its target.
  const bool follow = (arg32(args, 1) & kLookupSymlinkFollow) != 0;
  UniqueFd target(open_beneath((*dir)->host_fd, *path, O_PATH | (follow ? 0 : O_NOFOLLOW)));
  if (!target) return errno_of(errno);
  struct stat st {};
  if (::fstat(target.get(), &st) != 0) return errno_of(errno);
  return write_filestat(caller, arg32(args, 4), st);
}

// WASI's (atim, mtim, fst_flags) as utimensat's two times: a given time,
// UTIME_NOW or UTIME_OMIT; EINVAL when one is both given and "now".
std::expected<std::array<timespec, 2>, std::uint32_t> new_times(std::uint64_t atim,
                                                                std::uint64_t mtim,
                                                                std::uint32_t flags) {
  std::array<timespec, 2> times{};
  const std::uint64_t given[2] = {atim, mtim};
  for (int i = 0; i < 2; ++i) {
    const bool set = (flags & (kSetAtim << (2 * i))) != 0;
    const bool now = (flags & (kSetAtimNow << (2 * i))) != 0;
    if (set && now) return std::unexpected(kInvalid);
    times[i].tv_sec = set ? static_cast<time_t>(given[i] / 1'000'000'000u) : 0;
    times[i].tv_nsec = set   ? static_cast<long>(given[i] % 1'000'000'000u)
                       : now ? UTIME_NOW
                             : UTIME_OMIT;
  }
  return times;
}

// Sets the times of what `target` (any descriptor, O_PATH included) refers to.
std::uint32_t set_times(int target, std::uint64_t atim, std::uint64_t mtim, std::uint32_t flags) {
  auto times = new_times(atim, mtim, flags);
  if (!times) return times.error();
  return ::utimensat(target, "", times->data(), AT_EMPTY_PATH) == 0 ? kSuccess : errno_of(errno);
}

std::uint32_t fd_filestat_set_times(wasm::Caller& caller, Args args) {
  WasiFiles* files = files_of(caller);
  auto* entry = files ? files->find(arg32(args, 0)) : nullptr;
  if (entry == nullptr) return kBadFd;
  if (entry->read_only) return kReadOnlyMapping;
  return set_times(entry->host_fd, args[1], args[2], arg32(args, 3));
}

std::uint32_t path_filestat_set_times(wasm::Caller& caller, Args args) {
  auto dir = directory(caller, arg32(args, 0));
  if (!dir) return dir.error();
  auto path = guest_path(caller, arg32(args, 2), arg32(args, 3));
  if (!path) return path.error();
  if ((*dir)->read_only) return kReadOnlyMapping;
  const bool follow = (arg32(args, 1) & kLookupSymlinkFollow) != 0;
  UniqueFd target(open_beneath((*dir)->host_fd, *path, O_PATH | (follow ? 0 : O_NOFOLLOW)));
  if (!target) return errno_of(errno);
  return set_times(target.get(), args[4], args[5], arg32(args, 6));
}

}  // namespace

WasiFiles::WasiFiles(const std::vector<PathMapping>& preopens) {
  for (const PathMapping& mapping : preopens) {
    const int fd = ::open(mapping.host.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) entries_.push_back({fd, true, mapping.read_only, mapping.guest, true});
  }
}

WasiFiles::WasiFiles(const WasiFiles& other) {
  for (const Entry& entry : other.entries_) {
    if (!entry.preopen || entry.host_fd < 0) continue;
    Entry copy = entry;
    copy.host_fd = ::fcntl(entry.host_fd, F_DUPFD_CLOEXEC, 0);
    if (copy.host_fd >= 0) entries_.push_back(std::move(copy));
  }
}

WasiFiles::~WasiFiles() {
  for (const Entry& entry : entries_) {
    if (entry.host_fd >= 0) ::close(entry.host_fd);
  }
}

WasiFiles::Entry* WasiFiles::find(std::uint32_t fd) {
  if (fd < kFirstFd || fd - kFirstFd >= entries_.size()) return nullptr;
  Entry& entry = entries_[fd - kFirstFd];
  return entry.host_fd >= 0 ? &entry : nullptr;
}

std::optional<std::uint32_t> WasiFiles::add(Entry entry) {
  const auto open = std::ranges::count_if(entries_, [](const Entry& e) { return e.host_fd >= 0; });
  if (static_cast<std::size_t>(open) >= kMaxOpenFiles) return std::nullopt;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].host_fd < 0) {
      entries_[i] = std::move(entry);
      return kFirstFd + static_cast<std::uint32_t>(i);
    }
  }
  entries_.push_back(std::move(entry));
  return kFirstFd + static_cast<std::uint32_t>(entries_.size() - 1);
}

bool WasiFiles::close(std::uint32_t fd) {
  Entry* entry = find(fd);
  if (entry == nullptr || entry->preopen) return false;
  ::close(entry->host_fd);
  entry->host_fd = -1;
  return true;
}

bool WasiFiles::renumber(std::uint32_t from, std::uint32_t to) {
  Entry* moved = find(from);
  Entry* replaced = find(to);
  if (moved == nullptr || replaced == nullptr || moved->preopen || replaced->preopen) return false;
  if (from == to) return true;
  ::close(replaced->host_fd);
  *replaced = std::move(*moved);
  moved->host_fd = -1;
  return true;
}

void define_wasi_files(wasm::Linker& linker) {
  define(linker, "fd_prestat_get", {i32, i32}, &prestat_get);
  define(linker, "fd_prestat_dir_name", {i32, i32, i32}, &prestat_dir_name);
  define(linker, "path_open", {i32, i32, i32, i32, i32, i64, i64, i32, i32}, &path_open);
  define(linker, "fd_read", {i32, i32, i32, i32}, &fd_read);
  define(linker, "fd_write", {i32, i32, i32, i32}, &fd_write);
  define(linker, "fd_close", {i32}, &fd_close);
  define(linker, "fd_renumber", {i32, i32}, &fd_renumber);
  define(linker, "fd_seek", {i32, i64, i32, i32}, &fd_seek);
  define(linker, "fd_fdstat_get", {i32, i32}, &fd_fdstat_get);
  define(linker, "fd_filestat_get", {i32, i32}, &fd_filestat_get);
  define(linker, "path_filestat_get", {i32, i32, i32, i32, i32}, &path_filestat_get);
  define(linker, "fd_pread", {i32, i32, i32, i64, i32}, &fd_pread);
  define(linker, "fd_pwrite", {i32, i32, i32, i64, i32}, &fd_pwrite);
  define(linker, "fd_tell", {i32, i32}, &fd_tell);
  define(linker, "fd_filestat_set_size", {i32, i64}, &fd_filestat_set_size);
  define(linker, "fd_sync", {i32}, &sync_file<::fsync>);
  define(linker, "fd_datasync", {i32}, &sync_file<::fdatasync>);
  define(linker, "fd_filestat_set_times", {i32, i64, i64, i32}, &fd_filestat_set_times);
  define(linker, "path_filestat_set_times", {i32, i32, i32, i32, i64, i64, i32},
         &path_filestat_set_times);
  define_path_calls(linker);
}

}  // namespace warmpool::extism::internal
