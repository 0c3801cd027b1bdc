#include "file_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace warmpool::cli {
namespace {

// What replacing, rewriting or deleting a file in a folder produces.
constexpr std::uint32_t kChanges =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;

std::filesystem::path normal(const std::filesystem::path& file) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(file, ec);
  return (ec ? file : absolute).lexically_normal();
}

}  // namespace

std::expected<std::unique_ptr<FileWatch>, std::string> FileWatch::start(
    const std::vector<std::filesystem::path>& files, std::chrono::milliseconds debounce,
    Changed changed) {
  const int inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) return std::unexpected(std::string("inotify: ") + std::strerror(errno));
  const int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    ::close(inotify_fd);
    return std::unexpected(std::string("eventfd: ") + std::strerror(errno));
  }
  std::unique_ptr<FileWatch> watch(
      new FileWatch(inotify_fd, stop_fd, debounce, std::move(changed)));
  if (auto watching = watch->watch(files); !watching) return std::unexpected(watching.error());
  return watch;
}

FileWatch::FileWatch(int inotify_fd, int stop_fd, std::chrono::milliseconds debounce,
                     Changed changed)
    : inotify_fd_(inotify_fd),
      stop_fd_(stop_fd),
      debounce_(debounce),
      changed_(std::move(changed)),
      thread_([this] { wait_for_changes(); }) {}

FileWatch::~FileWatch() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(stop_fd_);
  ::close(inotify_fd_);
}

std::expected<void, std::string> FileWatch::watch(const std::vector<std::filesystem::path>& files) {
  std::set<std::filesystem::path> wanted_files, wanted_folders;
  for (const auto& file : files) {
    wanted_files.insert(normal(file));
    wanted_folders.insert(normal(file).parent_path());
  }
  std::lock_guard lock(mutex_);
  files_ = std::move(wanted_files);
  std::set<std::filesystem::path> watched;
  for (auto it = folders_.begin(); it != folders_.end();) {
    if (wanted_folders.contains(it->second)) {
      watched.insert(it->second);
      ++it;
    } else {
      inotify_rm_watch(inotify_fd_, it->first);
      it = folders_.erase(it);
    }
  }
  std::string failed;
  for (const auto& folder : wanted_folders) {
    if (watched.contains(folder)) continue;
    const int wd = inotify_add_watch(inotify_fd_, folder.c_str(), kChanges);
    if (wd < 0) {
      failed += (failed.empty() ? "" : "; ") + folder.string() + ": " + std::strerror(errno);
      continue;
    }
    folders_[wd] = folder;
  }
  if (!failed.empty()) return std::unexpected("cannot watch " + failed);
  return {};
}

bool FileWatch::matters(int wd, std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto folder = folders_.find(wd);
  if (folder == folders_.end()) return false;
  // An Extism manifest names modules the config does not: any module next
  // to a watched file counts (a reload keeps what did not change).
  const std::filesystem::path file = folder->second / name;
  const auto extension = file.extension();
  return files_.contains(file) || extension == ".wasm" || extension == ".wat";
}

void FileWatch::wait_for_changes() {
  using Clock = std::chrono::steady_clock;
  bool change_pending = false;
  Clock::time_point quiet_at{};  // when a pending change has been quiet long enough
  alignas(inotify_event) char buffer[16 * 1024];
  while (true) {
    int timeout_ms = -1;
    if (change_pending) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(quiet_at - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<std::int64_t>(left, 0));
    }
    pollfd fds[] = {{.fd = inotify_fd_, .events = POLLIN, .revents = 0},
                    {.fd = stop_fd_, .events = POLLIN, .revents = 0}};
    const int ready = ::poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) {
      const ssize_t length = ::read(inotify_fd_, buffer, sizeof buffer);
      for (ssize_t at = 0; at < length;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        // An overflowed queue lost events: one of them may have mattered.
        if ((event->mask & IN_Q_OVERFLOW) != 0 ||
            (event->len > 0 && matters(event->wd, event->name))) {
          change_pending = true;
          quiet_at = Clock::now() + debounce_;
        }
      }
      continue;
    }
    if (change_pending && Clock::now() >= quiet_at) {
      change_pending = false;
      changed_(*this);
    }
  }
}

}  // namespace warmpool::cli
