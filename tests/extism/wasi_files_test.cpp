// allowed_paths as WASI preopens on every engine (tests/extism/data/wasi_files.wat): files
// beneath a mapped directory can be read and written; `..`, absolute paths and symlinks cannot
// leave it; a `ro:` mapping refuses writes; a plugin cannot hoard host descriptors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = std::string(WARMPOOL_EXTISM_TEST_DATA) + "/wasi_files.wat";

std::string wasi_error(int errno_value) {
  return std::string("E") + static_cast<char>(errno_value);
}

class WasiFilesTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::ranges::replace(test, '/', '_');  // "Reads.../v8"
    root_ = fs::temp_directory_path() / ("warmpool_wasi_files_" + test);
    fs::remove_all(root_);
    fs::create_directories(root_ / "mapped" / "sub");
    std::ofstream(root_ / "mapped" / "a.txt") << "inside";
    std::ofstream(root_ / "secret.txt") << "outside";
    fs::create_symlink(root_ / "secret.txt", root_ / "mapped" / "link.txt");
  }
  void TearDown() override { fs::remove_all(root_); }

  Plugin plugin(bool read_only) {
    Manifest manifest = *Manifest::load_file(kProbe);
    manifest.allowed_paths.push_back({root_ / "mapped", "/data", read_only});
    auto p = Plugin::create(manifest, {.engine = *wasm::Engine::named(GetParam()), .wasi = true});
    if (!p) throw std::runtime_error(p.error().message());
    return std::move(*p);
  }

  fs::path root_;
};

TEST_P(WasiFilesTest, ReadsFilesBeneathTheMappedDirectory) {
  Plugin p = plugin(false);
  EXPECT_EQ(p.call("read", "a.txt").value(), "inside");
  EXPECT_EQ(p.call("read", "sub/../a.txt").value(), "inside");
  EXPECT_EQ(p.call("read", "missing.txt").value(), wasi_error(44));  // ENOENT
}

TEST_P(WasiFilesTest, NothingOutsideItCanBeReached) {
  Plugin p = plugin(false);
  EXPECT_EQ(p.call("read", "../secret.txt").value(), wasi_error(76));  // ENOTCAPABLE
  EXPECT_EQ(p.call("read", (root_ / "secret.txt").string()).value(), wasi_error(76));
  EXPECT_EQ(p.call("read", "link.txt").value(), wasi_error(76));
}

TEST_P(WasiFilesTest, WritesGoToTheMappedDirectoryUnlessReadOnly) {
  Plugin writable = plugin(false);
  EXPECT_EQ(writable.call("write", "written").value(), "");
  std::ifstream in(root_ / "mapped" / "out.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "written");
  Plugin read_only = plugin(true);
  EXPECT_EQ(read_only.call("write", "refused").value(), wasi_error(69));  // EROFS
  EXPECT_EQ(read_only.call("read", "a.txt").value(), "inside");
}

TEST_P(WasiFilesTest, OpenFilesPerInstanceAreCapped) {
  Plugin p = plugin(false);
  EXPECT_EQ(p.call("hoard", "").value(), wasi_error(33));  // EMFILE, host descriptors intact
  ASSERT_TRUE(p.reset());
  EXPECT_EQ(p.call("read", "a.txt").value(), "inside");
}

TEST_P(WasiFilesTest, AMappingThatIsNotADirectoryIsAManifestError) {
  Manifest manifest = *Manifest::load_file(kProbe);
  manifest.allowed_paths.push_back({root_ / "nope", "/data", false});
  auto p = Plugin::create(manifest, {.engine = *wasm::Engine::named(GetParam()), .wasi = true});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind(), ErrorKind::manifest);
}

INSTANTIATE_TEST_SUITE_P(Engines, WasiFilesTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
