#include "wasi_calls.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "plugin_data.hpp"

namespace warmpool::extism::internal::wasi {

std::uint32_t errno_of(int host) {
  switch (host) {
    case ENOENT: return kNoEnt;
    case EACCES: return kAccess;
    case EPERM: return kAccess;
    case EBADF: return kBadFd;
    case EBUSY: return kBusy;
    case EDQUOT: return kQuota;
    case EEXIST: return kExist;
    case EFBIG: return kFileTooBig;
    case EISDIR: return kIsDir;
    case ENOTDIR: return kNotDir;
    case ENOTEMPTY: return kNotEmpty;
    case ELOOP: return kLoop;
    case EMLINK: return kTooManyLinks;
    case ENAMETOOLONG: return kNameTooLong;
    case ENOSPC: return kNoSpace;
    case EOVERFLOW: return kOverflow;
    case ESPIPE: return kSpipe;
    case EXDEV: return kNotCapable;
    case EROFS: return kReadOnlyFs;
    case EINVAL: return kInvalid;
    default: return kIo;
  }
}

std::uint8_t file_type(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return kDirectory;
    case S_IFREG: return kRegularFile;
    case S_IFLNK: return kSymbolicLink;
    case S_IFCHR: return kCharacterDevice;
    case S_IFBLK: return kBlockDevice;
    case S_IFSOCK: return kSocketStream;
    default: return kUnknownType;
  }
}

WasiFiles* files_of(wasm::Caller& caller) {
  auto* data = caller.data<PluginData>();
  return data == nullptr ? nullptr : data->files.get();
}

std::expected<WasiFiles::Entry*, std::uint32_t> directory(wasm::Caller& caller, std::uint32_t fd) {
  WasiFiles* files = files_of(caller);
  WasiFiles::Entry* entry = files != nullptr ? files->find(fd) : nullptr;
  if (entry == nullptr) return std::unexpected(kBadFd);
  if (!entry->directory) return std::unexpected(kNotDir);
  return entry;
}

std::expected<WasiFiles::Entry*, std::uint32_t> file(wasm::Caller& caller, std::uint32_t fd) {
  WasiFiles* files = files_of(caller);
  WasiFiles::Entry* entry = files != nullptr ? files->find(fd) : nullptr;
  if (entry == nullptr || entry->directory) return std::unexpected(kBadFd);
  return entry;
}

std::expected<std::string, std::uint32_t> guest_path(wasm::Caller& caller, std::uint32_t ptr,
                                                     std::uint32_t len) {
  if (len >= PATH_MAX) return std::unexpected(kNameTooLong);  // before copying it
  auto bytes = caller.memory().read(ptr, len);
  if (!bytes) return std::unexpected(kFault);
  std::string path(bytes->begin(), bytes->end());
  if (path.find('\0') != std::string::npos) return std::unexpected(kInvalid);
  return path.empty() ? std::string(".") : path;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

int open_beneath(int dir, const std::string& path, std::uint64_t flags, std::uint64_t mode) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
}

std::expected<PathBeneath, std::uint32_t> parent_beneath(int dir, const std::string& path) {
  const std::size_t last = path.find_last_not_of('/');
  if (last == std::string::npos) return std::unexpected(kNotCapable);  // "/" itself
  const std::size_t slash = path.rfind('/', last);
  const std::size_t name_at = slash == std::string::npos ? 0 : slash + 1;
  std::string parent = slash == std::string::npos ? "." : path.substr(0, name_at);
  std::string name = path.substr(name_at, last + 1 - name_at);
  if (path.compare(slash + 1, last - slash, "..") == 0) {
    // The kernel never creates, removes or renames `..`, but a guest that
    // names the one above its mapping is told it cannot reach it.
    UniqueFd whole(open_beneath(dir, path, O_PATH));
    if (!whole && errno == EXDEV) return std::unexpected(kNotCapable);
  }
  UniqueFd parent_fd(open_beneath(dir, parent, O_PATH | O_DIRECTORY));
  if (!parent_fd) return std::unexpected(errno_of(errno));
  if (last + 1 < path.size()) {
    // Trailing slashes make the kernel follow a last symlink even for the
    // calls that never follow one (readlinkat, linkat), outside
    // RESOLVE_BENEATH: whether `link/` fails would tell where a host-made
    // link points. So the name must be a directory itself, or not exist yet
    // (then the slash stays, for mkdirat's and linkat's answers).
    struct stat st {};
    if (::fstatat(parent_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISDIR(st.st_mode)) return std::unexpected(kNotDir);
    } else if (errno == ENOENT) {
      name = path.substr(name_at, last + 2 - name_at);  // with one slash
    } else {
      return std::unexpected(errno_of(errno));
    }
  }
  return PathBeneath{std::move(parent_fd), std::move(name)};
}

void define(wasm::Linker& linker, const char* name, std::vector<wasm::ValueType> params,
            Call call) {
  linker.define(
      "wasi_snapshot_preview1", name,
      wasm::HostFunction({std::move(params), {wasm::ValueType::i32}},
                         [call](wasm::Caller& caller, Args args, std::span<std::uint64_t> results) {
                           results[0] = call(caller, args);
                         }));
}

}  // namespace warmpool::extism::internal::wasi
