// Manifest parsing: every field, and an error naming the field for each kind of mistake.
#include "warmpool/extism/manifest.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;

// "(module)" as wasm: its bytes, their base64 and sha256.
constexpr std::string_view kEmptyModuleBase64 = "AGFzbQEAAAA=";
constexpr std::string_view kEmptyModuleSha256 =
    "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476";

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("warmpool_manifest_test_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "plugins");
    std::ofstream(dir_ / "plugins" / "p.wasm", std::ios::binary) << std::string("\0asm\1\0\0\0", 8);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string error_of(std::string_view json) {
    auto m = Manifest::parse(json, dir_);
    return m ? std::string("(parsed)") : m.error().message();
  }

  fs::path dir_;
};

TEST_F(ManifestTest, EveryField) {
  auto m = Manifest::parse(R"({
    "wasm": [{"path": "plugins/p.wasm", "name": "lib", "hash": ")" +
                               std::string(kEmptyModuleSha256) + R"("},
             {"data": ")" + std::string(kEmptyModuleBase64) +
                               R"(", "name": "main"}],
    "memory": {"max_pages": 16, "max_var_bytes": 100, "max_http_response_bytes": 1000},
    "config": {"k": "v"},
    "allowed_hosts": ["*.example.com"],
    "allowed_paths": {"data": "/data", "ro:/etc/x": "/x"},
    "timeout_ms": 250})",
                           dir_);
  ASSERT_TRUE(m) << m.error();
  ASSERT_EQ(m->wasm.size(), 2u);
  EXPECT_EQ(m->wasm[0].name, "lib");
  EXPECT_EQ(m->wasm[0].bytes.size(), 8u);
  EXPECT_EQ(m->wasm[1].bytes, m->wasm[0].bytes);
  EXPECT_EQ(m->main_module()->name, "main");
  EXPECT_EQ(m->max_pages, 16u);
  EXPECT_EQ(m->max_var_bytes, 100u);
  EXPECT_EQ(m->max_http_response_bytes, 1000u);
  EXPECT_EQ(m->config.at("k"), "v");
  EXPECT_EQ(m->allowed_hosts, std::vector<std::string>{"*.example.com"});
  ASSERT_EQ(m->allowed_paths.size(), 2u);
  EXPECT_EQ(m->allowed_paths[0].host, dir_ / "data");  // JSON objects come in key order
  EXPECT_EQ(m->allowed_paths[0].guest, "/data");
  EXPECT_FALSE(m->allowed_paths[0].read_only);
  EXPECT_EQ(m->allowed_paths[1].host, "/etc/x");
  EXPECT_TRUE(m->allowed_paths[1].read_only);
  EXPECT_EQ(m->timeout, std::chrono::milliseconds(250));
}

TEST_F(ManifestTest, DefaultsAndTheLastModuleIsMain) {
  auto m = Manifest::parse(R"({"wasm": [{"path": "plugins/p.wasm", "name": "a"},
                                        {"path": "plugins/p.wasm", "name": "b"}]})",
                           dir_);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->main_module()->name, "b");
  EXPECT_FALSE(m->allowed_hosts);
  EXPECT_EQ(m->max_var_bytes, Manifest::kDefaultMaxVarBytes);
  EXPECT_FALSE(m->timeout);
  auto single = Manifest::parse(R"({"wasm": [{"path": "plugins/p.wasm"}]})", dir_);
  EXPECT_EQ(single->wasm[0].name, "main");
}

TEST_F(ManifestTest, ErrorsNameTheField) {
  EXPECT_NE(error_of("{").find("manifest: "), std::string::npos);
  // A number JSON cannot hold is an error, not an exception (found by fuzz_extism_manifest).
  EXPECT_NE(error_of(R"({"wasm": [], "timeout_ms": 2e999})").find("number overflow"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"wasm": []})").find("manifest: wasm:"), std::string::npos);
  EXPECT_EQ(error_of(R"({"wasm": [{"path": "plugins/p.wasm"}], "colour": 1})"),
            "manifest: colour: unknown field (expected one of: wasm, memory, config, "
            "allowed_hosts, allowed_paths, timeout_ms)");
  EXPECT_NE(error_of(R"({"wasm": [{"path": "plugins/p.wasm", "sha": "x"}]})").find("wasm[0].sha"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"wasm": [{"path": "missing.wasm"}]})").find("wasm[0].path: cannot read"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"wasm": [{"data": "%%%%"}]})").find("wasm[0].data"), std::string::npos);
  EXPECT_NE(error_of(R"({"wasm": [{"path": "plugins/p.wasm"}], "memory": {"max_pages": -1}})")
                .find("memory.max_pages"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"wasm": [{"path": "plugins/p.wasm"}], "config": {"n": 1}})").find("config.n"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"wasm": [{"path": "plugins/p.wasm"}], "timeout_ms": "1s"})").find("timeout_ms"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"wasm": [{"path": "plugins/p.wasm", "name": "x"},
                                  {"path": "plugins/p.wasm", "name": "x"}]})")
                .find("wasm[1].name: duplicate"),
            std::string::npos);
}

TEST_F(ManifestTest, WrongHashIsRefused) {
  auto m = Manifest::parse(R"({"wasm": [{"path": "plugins/p.wasm", "hash": "00"}]})", dir_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), ErrorKind::hash);
  EXPECT_NE(m.error().message().find("Hash mismatch, found " + std::string(kEmptyModuleSha256) +
                                     " but expected 00"),
            std::string::npos);
}

TEST_F(ManifestTest, UrlSourcesAreNotFetched) {
  EXPECT_NE(error_of(R"({"wasm": [{"url": "https://example.com/p.wasm"}]})")
                .find("wasm[0].url: url sources are not fetched"),
            std::string::npos);
}

TEST_F(ManifestTest, LoadFileResolvesPathsAgainstItsFolderAndTakesBareWasm) {
  std::ofstream(dir_ / "m.json") << R"({"wasm": [{"path": "plugins/p.wasm"}]})";
  auto m = Manifest::load_file(dir_ / "m.json");
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->wasm[0].label, "p.wasm");
  auto bare = Manifest::load_file(dir_ / "plugins" / "p.wasm");
  ASSERT_TRUE(bare) << bare.error();
  EXPECT_EQ(bare->main_module()->name, "main");
  auto missing = Manifest::load_file(dir_ / "nope.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::io);
}

}  // namespace
}  // namespace warmpool::extism
