// Test helper: where the built `warmpool` binary, the bundled plugins and
// their golden files are (compile definitions set by tests/cli/CMakeLists.txt).
#pragma once

#include <string>

namespace warmpool::cli::test {

inline std::string warmpool_bin() {
  return WARMPOOL_BIN;
}
inline std::string plugin(const std::string& name) {
  return std::string(WARMPOOL_PLUGIN_DIR) + "/" + name;
}
inline std::string testdata(const std::string& name) {
  return std::string(WARMPOOL_TESTDATA_DIR) + "/" + name;
}

}  // namespace warmpool::cli::test
