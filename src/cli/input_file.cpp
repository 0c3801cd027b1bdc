#include "input_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace warmpool::cli {

std::expected<std::string, std::string> read_input(std::string_view path) {
  if (path == "-") {
    std::ostringstream all;
    all << std::cin.rdbuf();
    return all.str();
  }
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return std::unexpected("cannot read '" + std::string(path) + "': " + std::strerror(errno));
  }
  std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return std::unexpected("cannot read '" + std::string(path) + "': " + std::strerror(errno));
  }
  return data;
}

}  // namespace warmpool::cli
