// `warmpool call` as a user runs it, on an Extism plugin written for the tests
// (tests/extism/data/kernel_probe.wat) and on real plugins from ../shared/extism.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli_paths.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = std::string(WARMPOOL_EXTISM_TEST_DATA) + "/kernel_probe.wat";
const fs::path kSharedPlugins = fs::path(WARMPOOL_EXTISM_SHARED_DIR) / "plugins";

ProcessResult warmpool(std::vector<std::string> args, const std::string& stdin_data = "") {
  args.insert(args.begin(), warmpool_bin());
  return run_process(args, stdin_data);
}

TEST(CallCommand, InputTextGoesInAndOnlyTheOutputComesOut) {
  auto r = warmpool({"call", kProbe, "echo", "--input", "hello world"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello world");
  EXPECT_EQ(r.err, "");
}

TEST(CallCommand, InputFromFileOrStdinOrNothing) {
  const fs::path file = fs::temp_directory_path() / "warmpool_call_input.txt";
  std::ofstream(file) << "from a file";
  EXPECT_EQ(warmpool({"call", kProbe, "echo", "--input-file", file.string()}).out, "from a file");
  fs::remove(file);
  EXPECT_EQ(warmpool({"call", kProbe, "echo", "--stdin"}, "from stdin").out, "from stdin");
  auto none = warmpool({"call", kProbe, "echo"}, "ignored");
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
}

TEST(CallCommand, PluginErrorGoesToStderrWithExitCode1) {
  auto r = warmpool({"call", kProbe, "fail", "--input", "no good"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "warmpool call: no good\n");
}

TEST(CallCommand, ConfigLogsAndLoop) {
  auto config = warmpool({"call", kProbe, "config", "--input", "who", "--config", "who=me"});
  EXPECT_EQ(config.out, "me");
  auto log = warmpool({"call", kProbe, "log", "--input", "note", "--log-level", "info"});
  EXPECT_EQ(log.exit_code, 0) << log.err;
  EXPECT_EQ(log.out, "");
  EXPECT_EQ(log.err, "[info] note\n");
  EXPECT_EQ(warmpool({"call", kProbe, "count_calls", "--loop", "3"}).out, "123");
}

TEST(CallCommand, RepeatableFlagsTakeOneValueEachWhereverTheyStand) {
  // Before the plugin: each --config/--allow-host takes one value, PLUGIN and FUNCTION stay.
  auto r = warmpool({"call", "--allow-host", "a.example", "--config", "who=me", "--allow-host",
                     "b.example", "--config", "other=x", kProbe, "config", "--input", "who"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "me");
  auto between = warmpool(
      {"call", kProbe, "--config", "who=first", "config", "--config", "other=x", "--input", "who"});
  EXPECT_EQ(between.exit_code, 0) << between.err;
  EXPECT_EQ(between.out, "first");
  auto missing = warmpool({"call", kProbe, "config", "--allow-host"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err.find("--allow-host: needs a value"), std::string("warmpool call: ").size())
      << missing.err;
}

TEST(CallCommand, AllowPathsBeforeThePluginMapDirectories) {
  const fs::path root =
      fs::temp_directory_path() / ("warmpool_call_allow_path_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "rw");
  fs::create_directories(root / "ro");
  std::ofstream(root / "rw" / "a.txt") << "inside";
  const std::string wasi_files = std::string(WARMPOOL_EXTISM_TEST_DATA) + "/wasi_files.wat";
  // wasi_files.wat reads and writes beneath the first mapping (fd 3).
  auto read =
      warmpool({"call", "--wasi", "--allow-path", (root / "rw").string() + ":/data", "--allow-path",
                "ro:" + (root / "ro").string() + ":/ro", wasi_files, "read", "--input", "a.txt"});
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out, "inside");
  auto refused = warmpool({"call", "--allow-path", "ro:" + (root / "ro").string() + ":/ro",
                           "--wasi", wasi_files, "write", "--input", "x"});
  EXPECT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_EQ(refused.out, "E:");  // "E" and errno 58 (ENOTSUP) as a byte
  EXPECT_FALSE(fs::exists(root / "ro" / "out.txt"));
  fs::remove_all(root);
}

TEST(CallCommand, UsageAndUnreadablePluginsExitWith2) {
  auto missing = warmpool({"call", kProbe, "nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "warmpool call: Function not found: nope\n");
  EXPECT_EQ(warmpool({"call", kProbe, "echo", "--input", "a", "--stdin"}).exit_code, 2);
  EXPECT_EQ(warmpool({"call", kProbe, "echo", "--config", "novalue"}).exit_code, 2);
  EXPECT_EQ(warmpool({"call", "/nonexistent.wasm", "echo"}).exit_code, 2);
  const fs::path manifest = fs::temp_directory_path() / "warmpool_call_bad_hash.json";
  std::ofstream(manifest) << R"({"wasm": [{"path": ")" << kProbe << R"(", "hash": "00"}]})";
  auto bad_hash = warmpool({"call", manifest.string(), "echo"});
  fs::remove(manifest);
  EXPECT_EQ(bad_hash.exit_code, 2);
  EXPECT_NE(bad_hash.err.find("Hash mismatch"), std::string::npos) << bad_hash.err;
}

TEST(CallCommand, RealCountVowelsPluginOnEveryEngine) {
  if (!fs::exists(kSharedPlugins / "code.wasm")) GTEST_SKIP() << kSharedPlugins << " is absent";
  for (std::string engine : {"wabt", "v8"}) {
    auto r = warmpool({"call", (kSharedPlugins / "code.wasm").string(), "count_vowels", "--input",
                       "hello world", "--engine", engine});
    if (engine == "v8" && r.exit_code == 2 && r.err.find("--engine") != std::string::npos) continue;
    EXPECT_EQ(r.exit_code, 0) << engine << ": " << r.err;
    EXPECT_EQ(r.out, R"({"count":3,"total":3,"vowels":"aeiouAEIOU"})") << engine;
  }
}

TEST(CallCommand, HttpIsDeniedWithTheOfficialWording) {
  if (!fs::exists(kSharedPlugins / "http.wasm")) GTEST_SKIP() << kSharedPlugins << " is absent";
  auto r = warmpool({"call", (kSharedPlugins / "http.wasm").string(), "http_request", "--input",
                     R"({"url": "https://extism.org"})"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find(
          R"(HTTP request to "https://extism.org" is not allowed (no allowed_hosts match "extism.org"))"),
      std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace warmpool::cli::test
