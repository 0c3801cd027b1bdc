// The WASI calls that list a directory or change names in one: fd_readdir,
// path_create_directory, path_remove_directory, path_unlink_file,
// path_rename, path_link, path_symlink and path_readlink. Each resolves its
// path with parent_beneath, so it acts on a name inside a mapped directory or
// fails; under a `ro:` mapping each change fails with kReadOnlyMapping before
// the host is asked. A symlink can only be made to point downward from where
// it is made (absolute targets and any `..` are ENOTCAPABLE), and
// path_readlink shows no other kind of target, so no host path leaks.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "wasi_calls.hpp"

namespace warmpool::extism::internal::wasi {
namespace {

using wasm::ValueType;
constexpr ValueType i32 = ValueType::i32;
constexpr ValueType i64 = ValueType::i64;

// A preview1 dirent: d_next (u64), d_ino (u64), d_namlen (u32), d_type (u8),
// padding to 24 bytes, then the name (not NUL-terminated).
constexpr std::size_t kDirentBytes = 24;

std::uint8_t dirent_type(int dir, const char* name, unsigned char host_type) {
  switch (host_type) {
    case DT_DIR: return kDirectory;
    case DT_REG: return kRegularFile;
    case DT_LNK: return kSymbolicLink;
    case DT_CHR: return kCharacterDevice;
    case DT_BLK: return kBlockDevice;
    case DT_SOCK: return kSocketStream;
    case DT_UNKNOWN: {
      struct stat st {};
      if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return kUnknownType;
      return file_type(st.st_mode);
    }
    default: return kUnknownType;
  }
}

// Fills the guest's buffer with dirents from position `cookie` on, as
// wasi-common does: "." and ".." first (both with the directory's own inode, so
// nothing about the directory above a mapping shows), then the host's entries
// in its order; d_next is the entry's position + 1. The last dirent that does
// not fit is cut at the buffer's end, and a full buffer tells the guest to call
// again (with a larger buffer if not even one entry fitted).
class DirentWriter {
 public:
  DirentWriter(std::span<std::uint8_t> buffer, std::uint64_t cookie)
      : buffer_(buffer), cookie_(cookie) {}

  // False once the buffer is full.
  bool add(std::string_view name, std::uint64_t inode, std::uint8_t type) {
    const std::uint64_t next = ++position_;
    if (next <= cookie_) return true;
    std::uint8_t header[kDirentBytes] = {};
    const auto name_length = static_cast<std::uint32_t>(name.size());
    std::memcpy(header, &next, 8);
    std::memcpy(header + 8, &inode, 8);
    std::memcpy(header + 16, &name_length, 4);
    header[20] = type;
    return put(header, kDirentBytes) && put(name.data(), name.size());
  }
  std::size_t used() const { return used_; }

 private:
  bool put(const void* bytes, std::size_t size) {
    const std::size_t room = buffer_.size() - used_;
    const std::size_t n = size < room ? size : room;
    if (n > 0) std::memcpy(buffer_.data() + used_, bytes, n);
    used_ += n;
    return n == size && used_ < buffer_.size();
  }

  std::span<std::uint8_t> buffer_;
  std::uint64_t cookie_;
  std::uint64_t position_ = 0;
  std::size_t used_ = 0;
};

std::uint32_t fd_readdir(wasm::Caller& caller, Args args) {
  auto dir = directory(caller, arg32(args, 0));
  if (!dir) return dir.error();
  auto buffer = caller.memory().span(arg32(args, 1), arg32(args, 2));
  if (!buffer) return kFault;
  // A descriptor of its own: preopens are O_PATH, and a listing must not move
  // the position of one the guest holds.
  UniqueFd readable(::openat((*dir)->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!readable) return errno_of(errno);
  struct stat self {};
  if (::fstat(readable.get(), &self) != 0) return errno_of(errno);
  std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(readable.get()), &::closedir);
  if (!stream) return errno_of(errno);
  readable.release();

  DirentWriter out(*buffer, args[3]);
  bool room = out.add(".", self.st_ino, kDirectory) && out.add("..", self.st_ino, kDirectory);
  while (room) {
    errno = 0;
    const dirent* entry = ::readdir(stream.get());
    if (entry == nullptr) {
      if (errno != 0) return errno_of(errno);
      break;
    }
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    room = out.add(name, entry->d_ino,
                   dirent_type(::dirfd(stream.get()), entry->d_name, entry->d_type));
  }
  return store<std::uint32_t>(caller, arg32(args, 4), static_cast<std::uint32_t>(out.used()))
             ? kSuccess
             : kFault;
}

// The name `path` (args[path_at], args[path_at + 1]) names beneath writable
// directory descriptor args[fd_at].
std::expected<PathBeneath, std::uint32_t> writable_path(wasm::Caller& caller, Args args,
                                                        std::size_t fd_at, std::size_t path_at) {
  auto dir = directory(caller, arg32(args, fd_at));
  if (!dir) return std::unexpected(dir.error());
  auto path = guest_path(caller, arg32(args, path_at), arg32(args, path_at + 1));
  if (!path) return std::unexpected(path.error());
  if ((*dir)->read_only) return std::unexpected(kReadOnlyMapping);
  return parent_beneath((*dir)->host_fd, *path);
}

std::uint32_t path_create_directory(wasm::Caller& caller, Args args) {
  auto target = writable_path(caller, args, 0, 1);
  if (!target) return target.error();
  return ::mkdirat(target->parent.get(), target->name.c_str(), 0777) == 0 ? kSuccess
                                                                          : errno_of(errno);
}

std::uint32_t path_remove_directory(wasm::Caller& caller, Args args) {
  auto target = writable_path(caller, args, 0, 1);
  if (!target) return target.error();
  return ::unlinkat(target->parent.get(), target->name.c_str(), AT_REMOVEDIR) == 0
             ? kSuccess
             : errno_of(errno);
}

std::uint32_t path_unlink_file(wasm::Caller& caller, Args args) {
  auto target = writable_path(caller, args, 0, 1);
  if (!target) return target.error();
  return ::unlinkat(target->parent.get(), target->name.c_str(), 0) == 0 ? kSuccess
                                                                        : errno_of(errno);
}

// Both ends beneath mappings (the same or two different ones), both writable.
std::uint32_t path_rename(wasm::Caller& caller, Args args) {
  auto from = writable_path(caller, args, 0, 1);
  if (!from) return from.error();
  auto to = writable_path(caller, args, 3, 4);
  if (!to) return to.error();
  if (::renameat(from->parent.get(), from->name.c_str(), to->parent.get(), to->name.c_str()) == 0) {
    return kSuccess;
  }
  // Here EXDEV is two file systems, not a path that left its directory.
  return errno == EXDEV ? kCrossDevice : errno_of(errno);
}

// A hard link. Both names must be beneath writable mappings: a link from a
// `ro:` mapping into a writable one would make its file writable. As
// wasi-common, the old name is never followed (LOOKUPFLAGS_SYMLINK_FOLLOW is
// EINVAL), so linking a symlink links the symlink.
std::uint32_t path_link(wasm::Caller& caller, Args args) {
  if ((arg32(args, 1) & kLookupSymlinkFollow) != 0) return kInvalid;
  auto from = writable_path(caller, args, 0, 2);
  if (!from) return from.error();
  auto to = writable_path(caller, args, 4, 5);
  if (!to) return to.error();
  if (::linkat(from->parent.get(), from->name.c_str(), to->parent.get(), to->name.c_str(), 0) ==
      0) {
    return kSuccess;
  }
  return errno == EXDEV ? kCrossDevice : errno_of(errno);
}

// Whether a symlink's `target` leads only downward from the directory holding
// the link: not absolute and without a `..` component.
bool points_downward(std::string_view target) {
  if (target.starts_with('/')) return false;
  while (!target.empty()) {
    const std::size_t slash = target.find('/');
    if (target.substr(0, slash) == "..") return false;
    target = slash == std::string_view::npos ? std::string_view{} : target.substr(slash + 1);
  }
  return true;
}

// A symlink whose target leads only downward (points_downward), else
// ENOTCAPABLE. wasi-common refuses absolute targets; this refuses every `..`
// as well, because no guest may make a link that a host program walking the
// mapped directory would follow out of it, and counting how far a target
// climbs against where the link is made cannot promise that: the host
// resolves symlinks inside the target (with `u` -> `.`, `u/../x` climbs one
// level more than it reads) and path_link or path_rename can move the link
// nearer the mapping later. A link that only points down stays inside
// wherever it is moved or however links chain. The cost: relative links that
// climb, such as a tar archive's `../lib/x`, cannot be made.
std::uint32_t path_symlink(wasm::Caller& caller, Args args) {
  if (arg32(args, 1) >= PATH_MAX) return kNameTooLong;
  auto bytes = caller.memory().read(arg32(args, 0), arg32(args, 1));
  if (!bytes) return kFault;
  auto link = writable_path(caller, args, 2, 3);
  if (!link) return link.error();
  const std::string target(bytes->begin(), bytes->end());
  if (target.find('\0') != std::string::npos) return kInvalid;
  if (target.empty()) return kNoEnt;  // what symlinkat answers
  if (!points_downward(target)) return kNotCapable;
  return ::symlinkat(target.c_str(), link->parent.get(), link->name.c_str()) == 0 ? kSuccess
                                                                                  : errno_of(errno);
}

// The symlink's target, cut to the guest's buffer as readlink(2) and
// wasi-common do. A target that is absolute or climbs with `..` (made on the
// host; path_symlink makes none) is ENOTCAPABLE: it names a place the guest
// cannot reach anyway, and its text would tell the guest about the host's
// directories.
std::uint32_t path_readlink(wasm::Caller& caller, Args args) {
  auto dir = directory(caller, arg32(args, 0));
  if (!dir) return dir.error();
  auto path = guest_path(caller, arg32(args, 1), arg32(args, 2));
  if (!path) return path.error();
  auto buffer = caller.memory().span(arg32(args, 3), arg32(args, 4));
  if (!buffer) return kFault;
  auto link = parent_beneath((*dir)->host_fd, *path);
  if (!link) return link.error();
  char target[PATH_MAX];
  const ssize_t length = ::readlinkat(link->parent.get(), link->name.c_str(), target, PATH_MAX);
  if (length < 0) return errno_of(errno);
  if (!points_downward({target, static_cast<std::size_t>(length)})) return kNotCapable;
  const std::size_t copied = std::min(static_cast<std::size_t>(length), buffer->size());
  if (copied > 0) std::memcpy(buffer->data(), target, copied);
  return store<std::uint32_t>(caller, arg32(args, 5), static_cast<std::uint32_t>(copied)) ? kSuccess
                                                                                          : kFault;
}

}  // namespace

void define_path_calls(wasm::Linker& linker) {
  define(linker, "fd_readdir", {i32, i32, i32, i64, i32}, &fd_readdir);
  define(linker, "path_create_directory", {i32, i32, i32}, &path_create_directory);
  define(linker, "path_remove_directory", {i32, i32, i32}, &path_remove_directory);
  define(linker, "path_unlink_file", {i32, i32, i32}, &path_unlink_file);
  define(linker, "path_rename", {i32, i32, i32, i32, i32, i32}, &path_rename);
  define(linker, "path_link", {i32, i32, i32, i32, i32, i32, i32}, &path_link);
  define(linker, "path_symlink", {i32, i32, i32, i32, i32}, &path_symlink);
  define(linker, "path_readlink", {i32, i32, i32, i32, i32, i32}, &path_readlink);
}

}  // namespace warmpool::extism::internal::wasi
