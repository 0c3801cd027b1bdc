#include "wasi_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "plugin_data.hpp"

namespace warmpool::extism::internal {
namespace {

using wasm::ValueType;
constexpr ValueType i32 = ValueType::i32;
constexpr ValueType i64 = ValueType::i64;

// WASI preview1 errno values.
enum : std::uint32_t {
  kSuccess = 0,
  kAccess = 2,
  kBadFd = 8,
  kExist = 20,
  kFault = 21,
  kInvalid = 28,
  kIo = 29,
  kIsDir = 31,
  kLoop = 32,
  kTooManyFiles = 33,
  kNoEnt = 44,
  kNotDir = 54,
  kReadOnlyFs = 69,
  kSpipe = 70,
  kNotCapable = 76,
};

constexpr std::uint64_t kRightFdRead = 1u << 1;
constexpr std::uint64_t kRightFdWrite = 1u << 6;
constexpr std::uint32_t kOpenCreate = 1, kOpenDirectory = 2, kOpenExclusive = 4, kOpenTruncate = 8;
constexpr std::uint32_t kFdAppend = 1;
constexpr std::uint8_t kCharacterDevice = 2, kDirectory = 3, kRegularFile = 4;

std::uint32_t wasi_errno(int host) {
  switch (host) {
    case ENOENT: return kNoEnt;
    case EACCES: return kAccess;
    case EPERM: return kAccess;
    case EEXIST: return kExist;
    case EISDIR: return kIsDir;
    case ENOTDIR: return kNotDir;
    case ELOOP: return kLoop;
    case EXDEV: return kNotCapable;  // openat2: the path would leave the directory
    case EROFS: return kReadOnlyFs;
    case EINVAL: return kInvalid;
    default: return kIo;
  }
}

WasiFiles* files_of(wasm::Caller& caller) {
  auto* data = caller.data<PluginData>();
  return data == nullptr ? nullptr : data->files.get();
}

template <class T>
bool store(wasm::Caller& caller, std::uint64_t address, T value) {
  return caller.memory().store(address, value).has_value();
}

std::uint8_t file_type(mode_t mode) {
  if (S_ISDIR(mode)) return kDirectory;
  if (S_ISREG(mode)) return kRegularFile;
  return 0;
}

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

// Opens `path` beneath directory `dir`, never outside it.
int open_beneath(int dir, const std::string& path, std::uint64_t flags, std::uint64_t mode = 0) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
}

std::expected<std::string, std::uint32_t> guest_path(wasm::Caller& caller, std::uint32_t ptr,
                                                     std::uint32_t len) {
  auto bytes = caller.memory().read(ptr, len);
  if (!bytes) return std::unexpected(kFault);
  std::string path(bytes->begin(), bytes->end());
  if (path.find('\0') != std::string::npos) return std::unexpected(kInvalid);
  return path.empty() ? std::string(".") : path;
}

using Args = std::span<const std::uint64_t>;
std::uint32_t arg32(Args args, std::size_t i) {
  return static_cast<std::uint32_t>(args[i]);
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
  WasiFiles* files = files_of(caller);
  auto* dir = files ? files->find(arg32(args, 0)) : nullptr;
  if (dir == nullptr || !dir->directory) return kBadFd;
  auto path = guest_path(caller, arg32(args, 2), arg32(args, 3));
  if (!path) return path.error();
  const std::uint32_t oflags = arg32(args, 4);
  const bool appends = (arg32(args, 7) & kFdAppend) != 0;
  const bool writes =
      (args[5] & kRightFdWrite) != 0 || appends || (oflags & (kOpenCreate | kOpenTruncate)) != 0;
  if (writes && dir->read_only) return kReadOnlyFs;
  std::uint64_t flags = O_RDONLY;
  if (writes) flags = (args[5] & kRightFdRead) != 0 ? O_RDWR : O_WRONLY;
  if ((oflags & kOpenDirectory) != 0) flags |= O_DIRECTORY;
  if ((oflags & kOpenCreate) != 0) flags |= O_CREAT;
  if ((oflags & kOpenExclusive) != 0) flags |= O_EXCL;
  if ((oflags & kOpenTruncate) != 0) flags |= O_TRUNC;
  if (appends) flags |= O_APPEND;
  const int fd = open_beneath(dir->host_fd, *path, flags);
  if (fd < 0) return wasi_errno(errno);
  struct stat st {};
  ::fstat(fd, &st);
  auto wasi_fd = files->add({fd, S_ISDIR(st.st_mode), dir->read_only, {}, false});
  if (!wasi_fd) {
    ::close(fd);
    return kTooManyFiles;
  }
  return store<std::uint32_t>(caller, arg32(args, 8), *wasi_fd) ? kSuccess : kFault;
}

std::uint32_t fd_read(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  WasiFiles* files = files_of(caller);
  auto* entry = files ? files->find(fd) : nullptr;
  if (fd == 0) return store<std::uint32_t>(caller, arg32(args, 3), 0) ? kSuccess : kFault;
  if (entry == nullptr || entry->directory) return entry == nullptr ? kBadFd : kIsDir;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < arg32(args, 2); ++i) {
    const std::uint64_t iov = arg32(args, 1) + 8ull * i;
    auto base = caller.memory().load<std::uint32_t>(iov);
    auto length = caller.memory().load<std::uint32_t>(iov + 4);
    if (!base || !length) return kFault;
    auto target = caller.memory().span(*base, *length);
    if (!target) return kFault;
    const ssize_t n = ::read(entry->host_fd, target->data(), target->size());
    if (n < 0) return wasi_errno(errno);
    total += static_cast<std::uint64_t>(n);
    if (static_cast<std::size_t>(n) < target->size()) break;
  }
  return store<std::uint32_t>(caller, arg32(args, 3), static_cast<std::uint32_t>(total)) ? kSuccess
                                                                                         : kFault;
}

std::uint32_t fd_write(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  WasiFiles* files = files_of(caller);
  if (files == nullptr) return kBadFd;
  auto* entry = fd > 2 ? files->find(fd) : nullptr;
  if (fd == 0 || (fd > 2 && (entry == nullptr || entry->directory))) return kBadFd;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < arg32(args, 2); ++i) {
    const std::uint64_t iov = arg32(args, 1) + 8ull * i;
    auto base = caller.memory().load<std::uint32_t>(iov);
    auto length = caller.memory().load<std::uint32_t>(iov + 4);
    if (!base || !length) return kFault;
    auto source = caller.memory().read(*base, *length);
    if (!source) return kFault;
    if (fd <= 2) {
      (fd == 1 ? files->stdout_text : files->stderr_text).append(source->begin(), source->end());
      total += source->size();
      continue;
    }
    const ssize_t n = ::write(entry->host_fd, source->data(), source->size());
    if (n < 0) return wasi_errno(errno);
    total += static_cast<std::uint64_t>(n);
  }
  return store<std::uint32_t>(caller, arg32(args, 3), static_cast<std::uint32_t>(total)) ? kSuccess
                                                                                         : kFault;
}

std::uint32_t fd_close(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  if (fd <= 2) return kSuccess;
  WasiFiles* files = files_of(caller);
  return files != nullptr && files->close(fd) ? kSuccess : kBadFd;
}

std::uint32_t fd_seek(wasm::Caller& caller, Args args) {
  const std::uint32_t fd = arg32(args, 0);
  if (fd <= 2) return kSpipe;
  WasiFiles* files = files_of(caller);
  auto* entry = files ? files->find(fd) : nullptr;
  if (entry == nullptr) return kBadFd;
  const std::uint32_t whence = arg32(args, 2);
  if (whence > 2) return kInvalid;
  const off_t at = ::lseek(entry->host_fd, static_cast<off_t>(args[1]), static_cast<int>(whence));
  if (at < 0) return wasi_errno(errno);
  return store<std::uint64_t>(caller, arg32(args, 3), static_cast<std::uint64_t>(at)) ? kSuccess
                                                                                      : kFault;
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
  if (::fstat(entry->host_fd, &st) != 0) return wasi_errno(errno);
  return write_filestat(caller, arg32(args, 1), st);
}

std::uint32_t path_filestat_get(wasm::Caller& caller, Args args) {
  WasiFiles* files = files_of(caller);
  auto* dir = files ? files->find(arg32(args, 0)) : nullptr;
  if (dir == nullptr || !dir->directory) return kBadFd;
  auto path = guest_path(caller, arg32(args, 2), arg32(args, 3));
  if (!path) return path.error();
  const int fd = open_beneath(dir->host_fd, *path, O_PATH);
  if (fd < 0) return wasi_errno(errno);
  struct stat st {};
  const int done = ::fstat(fd, &st);
  ::close(fd);
  if (done != 0) return wasi_errno(errno);
  return write_filestat(caller, arg32(args, 4), st);
}

void define(wasm::Linker& linker, const char* name, std::vector<ValueType> params,
            std::uint32_t (*call)(wasm::Caller&, Args)) {
  linker.define(
      "wasi_snapshot_preview1", name,
      wasm::HostFunction({std::move(params), {i32}},
                         [call](wasm::Caller& caller, Args args, std::span<std::uint64_t> results) {
                           results[0] = call(caller, args);
                         }));
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

void define_wasi_files(wasm::Linker& linker) {
  define(linker, "fd_prestat_get", {i32, i32}, &prestat_get);
  define(linker, "fd_prestat_dir_name", {i32, i32, i32}, &prestat_dir_name);
  define(linker, "path_open", {i32, i32, i32, i32, i32, i64, i64, i32, i32}, &path_open);
  define(linker, "fd_read", {i32, i32, i32, i32}, &fd_read);
  define(linker, "fd_write", {i32, i32, i32, i32}, &fd_write);
  define(linker, "fd_close", {i32}, &fd_close);
  define(linker, "fd_seek", {i32, i64, i32, i32}, &fd_seek);
  define(linker, "fd_fdstat_get", {i32, i32}, &fd_fdstat_get);
  define(linker, "fd_filestat_get", {i32, i32}, &fd_filestat_get);
  define(linker, "path_filestat_get", {i32, i32, i32, i32, i32}, &path_filestat_get);
}

}  // namespace warmpool::extism::internal
