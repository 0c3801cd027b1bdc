#include "input_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "message_text.hpp"

namespace warmpool::cli {
namespace {

std::string cannot(std::string_view verb, std::string_view what, std::string_view path,
                   std::string_view why) {
  return cat(what, ": cannot ", verb, " '", path, "': ", why);
}

std::string in_directory(const std::filesystem::path& directory, std::string_view why) {
  return cat("directory '", directory.string(), "': ", why);
}

}  // namespace

std::optional<std::string> check_readable_file(std::string_view path, std::string_view what) {
  const std::string name(path);
  struct stat info {};
  if (::stat(name.c_str(), &info) != 0) return cannot("read", what, path, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) return cannot("read", what, path, "is a directory");
  if (::access(name.c_str(), R_OK) != 0) return cannot("read", what, path, std::strerror(errno));
  return std::nullopt;
}

std::optional<std::string> check_writable_file(std::string_view path, std::string_view what) {
  const std::string name(path);
  struct stat info {};
  if (::stat(name.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return cannot("write", what, path, "is a directory");
    if (::access(name.c_str(), W_OK) != 0) {
      return cannot("write", what, path, std::strerror(errno));
    }
    return std::nullopt;
  }
  if (errno != ENOENT) return cannot("write", what, path, std::strerror(errno));
  std::filesystem::path parent = std::filesystem::path(name).parent_path();
  if (parent.empty()) parent = ".";
  if (::stat(parent.c_str(), &info) != 0) {
    return cannot("write", what, path, in_directory(parent, std::strerror(errno)));
  }
  if (!S_ISDIR(info.st_mode)) {
    return cannot("write", what, path, in_directory(parent, "not a directory"));
  }
  if (::access(parent.c_str(), W_OK | X_OK) != 0) {
    return cannot("write", what, path, in_directory(parent, std::strerror(errno)));
  }
  return std::nullopt;
}

std::expected<std::string, std::string> read_input(std::string_view path, std::string_view what) {
  if (path == "-") {
    std::ostringstream all;
    all << std::cin.rdbuf();
    return all.str();
  }
  if (auto bad = check_readable_file(path, what)) return std::unexpected(*bad);
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return std::unexpected(cannot("read", what, path, std::strerror(errno)));
  try {
    return std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  } catch (const std::ios_base::failure&) {
    // libstdc++'s filebuf throws on a read error whatever the stream's exception mask.
    return std::unexpected(cannot("read", what, path, std::strerror(errno)));
  }
}

}  // namespace warmpool::cli
