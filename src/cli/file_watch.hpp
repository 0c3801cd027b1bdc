// Tells when files change (Linux inotify), for `warmpool serve`'s opt-in
// reload on change. It watches the folders the files are in, not the files:
// editors and deploy scripts replace a file by renaming another over it,
// which a watch on the old file would not see. Changes are debounced: the
// callback runs once the folders have been quiet for `debounce`, so a copy
// written in several steps reloads once.
//
//   auto watch = FileWatch::start({"warmpool.toml", "plugins/echo.wasm"},
//                                 std::chrono::milliseconds(200),
//                                 [](FileWatch& watch) { reload(); watch.watch(new_files); });
//   if (!watch) { std::cerr << watch.error(); }
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace warmpool::cli {

class FileWatch {
 public:
  // `changed` runs on the watch's own thread, given the watch (to change
  // what it watches, then or later).
  using Changed = std::function<void(FileWatch&)>;
  static std::expected<std::unique_ptr<FileWatch>, std::string> start(
      const std::vector<std::filesystem::path>& files, std::chrono::milliseconds debounce,
      Changed changed);
  ~FileWatch();  // stops and joins the thread
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Watches these files from now on instead; the error names a folder that
  // cannot be watched (the others are).
  std::expected<void, std::string> watch(const std::vector<std::filesystem::path>& files);

 private:
  FileWatch(int inotify_fd, int stop_fd, std::chrono::milliseconds debounce, Changed changed);
  void wait_for_changes();
  // Whether the file `name` in the folder of watch `wd` is one to react to.
  bool matters(int wd, std::string_view name) const;

  const int inotify_fd_;
  const int stop_fd_;  // an eventfd: written to stop the thread
  const std::chrono::milliseconds debounce_;
  const Changed changed_;
  mutable std::mutex mutex_;
  std::map<int, std::filesystem::path> folders_;  // by watch descriptor
  std::set<std::filesystem::path> files_;
  std::jthread thread_;  // last: started once everything above exists
};

}  // namespace warmpool::cli
