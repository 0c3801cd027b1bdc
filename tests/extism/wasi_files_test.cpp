// allowed_paths as WASI preopens on every engine: files beneath a mapped directory can be
// read and written (tests/extism/data/wasi_files.wat), listed, created, renamed, resized and
// removed (the own wasi_files plugin, plugins/extism/wasi_files.c, through wasi-libc and through
// each WASI call directly); `..`, absolute paths and symlinks cannot leave it; a `ro:` mapping
// refuses every write with ENOTSUP; a hostile readdir buffer gets an errno; a plugin cannot
// hoard host descriptors, and the ones it opened are gone after Reset and Fresh.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "warmpool/extism/extism.hpp"
#include "warmpool/instance_pool.hpp"

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = std::string(WARMPOOL_EXTISM_TEST_DATA) + "/wasi_files.wat";

std::string wasi_error(int errno_value) {
  return std::string("E") + static_cast<char>(errno_value);
}

std::string error_text(const std::expected<std::string, Error>& out) {
  return out ? "(no error; output " + *out + ")" : out.error().message();
}

class WasiFilesTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::ranges::replace(test, '/', '_');  // "Reads.../v8"
    // The pid too: other builds' test runs on the same machine use the same names.
    root_ = fs::temp_directory_path() /
            ("warmpool_wasi_files_" + test + "_" + std::to_string(::getpid()));
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
  // `read` opens without LOOKUPFLAGS_SYMLINK_FOLLOW: a last-component symlink is ELOOP, as on
  // wasi-common (wasi_links_test.cpp follows links, and links leading outside).
  EXPECT_EQ(p.call("read", "link.txt").value(), wasi_error(32));
}

TEST_P(WasiFilesTest, WritesGoToTheMappedDirectoryUnlessReadOnly) {
  Plugin writable = plugin(false);
  EXPECT_EQ(writable.call("write", "written").value(), "");
  std::ifstream in(root_ / "mapped" / "out.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "written");
  Plugin read_only = plugin(true);
  EXPECT_EQ(read_only.call("write", "refused").value(), wasi_error(58));  // ENOTSUP
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

// --- the own wasi_files plugin: every WASI file call, with /data (fd 3) and /other (fd 4) ---

using Pool = InstancePool<Plugin, Error, PluginLifecycle>;

const fs::path kOwnPlugin = fs::path(WARMPOOL_PLUGIN_DIR) / "extism_wasi_files.wasm";

// The host's mtime of `path` in whole seconds.
long modified(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long>(st.st_mtim.tv_sec) : -1;
}

std::string host_file(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

class WasiTreeTest : public WasiFilesTest {
 protected:
  void SetUp() override {
    WasiFilesTest::SetUp();
    fs::create_directories(root_ / "other");
    std::ofstream(root_ / "other" / "o.txt") << "other";
    fs::create_directory_symlink(root_, root_ / "mapped" / "up");
  }

  Manifest manifest(bool data_read_only) {
    Manifest m = *Manifest::load_file(kOwnPlugin);
    m.allowed_paths.push_back({root_ / "mapped", "/data", data_read_only});
    m.allowed_paths.push_back({root_ / "other", "/other", false});
    return m;
  }
  PluginOptions options() { return {.engine = *wasm::Engine::named(GetParam()), .wasi = true}; }
  Plugin files(bool data_read_only = false) {
    auto p = Plugin::create(manifest(data_read_only), options());
    if (!p) throw std::runtime_error(p.error().message());
    return std::move(*p);
  }
  // The output of `op` (see wasi_files.c), or the call's error.
  static std::string op(Plugin& plugin, const std::string& arguments) {
    auto out = plugin.call("op", arguments);
    return out ? *out : "call failed: " + out.error().message();
  }
};

TEST_P(WasiTreeTest, ListsDirectoriesThroughWasiLibc) {
  Plugin plugin = files();
  EXPECT_EQ(plugin.call("list", "/data").value(), "a.txt\nlink.txt\nsub\nup");
  fs::create_directory(root_ / "mapped" / "many");
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.push_back("file-with-a-name-long-enough-to-need-several-buffers-" + std::to_string(i));
    std::ofstream(root_ / "mapped" / "many" / names.back()) << i;
  }
  std::ranges::sort(names);
  std::string expected;
  for (const std::string& name : names) expected += (expected.empty() ? "" : "\n") + name;
  // ~23 KiB of dirents: wasi-libc reads them 4 KiB at a time, resuming at each cookie.
  EXPECT_EQ(plugin.call("list", "/data/many").value(), expected);
  EXPECT_EQ(error_text(plugin.call("list", "/data/a.txt")), "/data/a.txt: Not a directory");
}

TEST_P(WasiTreeTest, ReaddirFollowsPreview1CookiesAndTruncation) {
  Plugin plugin = files();
  const std::string all = op(plugin, "readdir 3 0 4096");
  ASSERT_TRUE(all.starts_with("used=")) << all;
  EXPECT_TRUE(all.find(" .@1 ..@2 ") != std::string::npos) << all;
  for (const char* name : {" a.txt@", " link.txt@", " sub@", " up@"}) {
    EXPECT_NE(all.find(name), std::string::npos) << name << " in " << all;
  }
  EXPECT_EQ(all.find("+"), std::string::npos) << all;
  // "." takes 25 bytes; ".." is cut at the buffer's end and the full buffer says "call again".
  EXPECT_EQ(op(plugin, "readdir 3 0 30"), "used=30 .@1 +");
  // Resuming at cookie 2 skips "." and "..": the four entries are numbered 3 to 6.
  const std::string rest = op(plugin, "readdir 3 2 4096");
  EXPECT_EQ(rest.find(" .@"), std::string::npos) << rest;
  EXPECT_NE(rest.find("@6"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("@7"), std::string::npos) << rest;
  EXPECT_EQ(op(plugin, "readdir 3 6 4096"), "used=0");
  EXPECT_EQ(op(plugin, "readdir 3 99 4096"), "used=0");
}

TEST_P(WasiTreeTest, HostileReaddirBuffersAndIovecsGetAnErrno) {
  Plugin plugin = files();
  EXPECT_EQ(op(plugin, "readdir 3 0 0"), "used=0");
  EXPECT_EQ(op(plugin, "readdir 3 0 1"), "used=1 +");
  EXPECT_EQ(op(plugin, "readdir 3 0 4096 0xfffffff0"), "errno=21");  // EFAULT
  EXPECT_EQ(op(plugin, "readdir 3 0 4294967295 1024"), "errno=21");
  EXPECT_EQ(op(plugin, "readdir 99 0 4096"), "errno=8");  // EBADF
  // An iovec count past guest memory is refused before any host call; empty ones cost none.
  EXPECT_EQ(op(plugin, "iovecs 1 4294967295"), "errno=21");
  EXPECT_EQ(op(plugin, "iovecs 1 8192"), "n=0");
  EXPECT_EQ(op(plugin, "open 3 a.txt r"), "fd=5");
  EXPECT_EQ(op(plugin, "readdir 5 0 4096"), "errno=54");  // ENOTDIR
  EXPECT_TRUE(plugin.healthy());
  EXPECT_EQ(plugin.call("list", "/other").value(), "o.txt");
}

TEST_P(WasiTreeTest, CreatesRenamesAndRemovesInsideTheMappings) {
  Plugin plugin = files();
  const fs::path data = root_ / "mapped";
  EXPECT_EQ(op(plugin, "mkdir 3 new"), "ok");
  EXPECT_TRUE(fs::is_directory(data / "new"));
  EXPECT_EQ(op(plugin, "mkdir 3 new"), "errno=20");  // EEXIST
  EXPECT_EQ(op(plugin, "rename 3 a.txt 3 new/b.txt"), "ok");
  EXPECT_EQ(host_file(data / "new" / "b.txt"), "inside");
  EXPECT_EQ(op(plugin, "rmdir 3 new"), "errno=55");  // ENOTEMPTY
  EXPECT_EQ(op(plugin, "unlink 3 new/b.txt"), "ok");
  EXPECT_EQ(op(plugin, "unlink 3 new/b.txt"), "errno=44");  // ENOENT
  EXPECT_EQ(op(plugin, "rmdir 3 new/"), "ok");
  EXPECT_FALSE(fs::exists(data / "new"));
  EXPECT_EQ(op(plugin, "unlink 3 sub"), "errno=31");      // EISDIR
  EXPECT_EQ(op(plugin, "rmdir 3 link.txt"), "errno=54");  // ENOTDIR
  // From one mapping to another.
  EXPECT_EQ(op(plugin, "rename 3 sub 4 moved"), "ok");
  EXPECT_TRUE(fs::is_directory(root_ / "other" / "moved"));
  EXPECT_FALSE(fs::exists(data / "sub"));
  // A symlink is removed itself, never what it points to.
  EXPECT_EQ(op(plugin, "unlink 3 link.txt"), "ok");
  EXPECT_EQ(host_file(root_ / "secret.txt"), "outside");
  // The same through wasi-libc's mkdir, rename (across mappings) and rmdir.
  std::ofstream(data / "c.txt") << "c";
  EXPECT_EQ(plugin.call("tree", "/data/c.txt\n/other/t").value(), "done");
  EXPECT_EQ(host_file(data / "c.txt"), "c");
  EXPECT_FALSE(fs::exists(root_ / "other" / "t.d"));
}

TEST_P(WasiTreeTest, FileDescriptorCallsReadWriteSeekAndResize) {
  Plugin plugin = files();
  const fs::path created = root_ / "mapped" / "f.txt";
  EXPECT_EQ(op(plugin, "open 3 f.txt rwc"), "fd=5");
  const auto perms = fs::status(created).permissions();
  EXPECT_NE(perms & fs::perms::owner_read, fs::perms::none);
  EXPECT_NE(perms & fs::perms::owner_write, fs::perms::none);
  EXPECT_EQ(op(plugin, "pwrite 5 0 hello_world"), "n=11");
  EXPECT_EQ(op(plugin, "pread 5 6 5"), "data=world");
  EXPECT_EQ(op(plugin, "tell 5"), "at=0");  // positioned calls leave the position
  EXPECT_EQ(op(plugin, "write 5 XY"), "n=2");
  EXPECT_EQ(op(plugin, "tell 5"), "at=2");
  EXPECT_EQ(op(plugin, "seek 5 1"), "at=1");
  EXPECT_EQ(op(plugin, "read 5 4"), "data=Yllo");
  EXPECT_EQ(op(plugin, "size 5 3"), "ok");
  EXPECT_EQ(host_file(created), "XYl");
  EXPECT_EQ(op(plugin, "stat 3 f.txt"), "type=4 size=3");
  EXPECT_EQ(op(plugin, "stat 3 sub").substr(0, 7), "type=3 ");
  // lstat describes a symlink itself (also one pointing outside), stat follows it beneath only.
  EXPECT_EQ(op(plugin, "lstat 3 up").substr(0, 7), "type=7 ");
  EXPECT_EQ(op(plugin, "stat 3 up"), "errno=76");
  EXPECT_EQ(op(plugin, "lstat 3 up/"), "errno=76");
  EXPECT_EQ(op(plugin, "lstat 3 f.txt"), "type=4 size=3");
  EXPECT_EQ(op(plugin, "sync 5"), "ok");
  EXPECT_EQ(op(plugin, "datasync 5"), "ok");
  EXPECT_EQ(op(plugin, "close 5"), "ok");
  EXPECT_EQ(op(plugin, "tell 5"), "errno=8");
  // A directory is not a file, and a file opened for reading cannot be written.
  EXPECT_EQ(op(plugin, "pread 3 0 1"), "errno=8");
  EXPECT_EQ(op(plugin, "tell 3"), "errno=8");
  EXPECT_EQ(op(plugin, "size 3 0"), "errno=8");
  EXPECT_EQ(op(plugin, "sync 99"), "errno=8");
  EXPECT_EQ(op(plugin, "open 3 a.txt r"), "fd=5");
  EXPECT_EQ(op(plugin, "pwrite 5 0 x"), "errno=8");
  EXPECT_EQ(op(plugin, "size 5 0"), "errno=28");  // EINVAL, as ftruncate answers
  // O_EXCL, O_DIRECTORY and O_TRUNC.
  EXPECT_EQ(op(plugin, "open 3 a.txt wcx"), "errno=20");
  EXPECT_EQ(op(plugin, "open 3 a.txt rd"), "errno=54");
  EXPECT_EQ(op(plugin, "open 3 sub rdc"), "errno=28");
  EXPECT_EQ(op(plugin, "open 3 sub rd"), "fd=6");
  EXPECT_EQ(op(plugin, "open 3 a.txt wt"), "fd=7");
  EXPECT_EQ(host_file(root_ / "mapped" / "a.txt"), "");
}

TEST_P(WasiTreeTest, SetsFileTimesByPathAndByDescriptor) {
  Plugin plugin = files();
  EXPECT_EQ(op(plugin, "touch 3 a.txt 1000000"), "ok");
  EXPECT_EQ(modified(root_ / "mapped" / "a.txt"), 1000000);
  EXPECT_EQ(op(plugin, "touch 3 a.txt 1000 3"), "errno=28");  // ATIM with ATIM_NOW: EINVAL
  EXPECT_EQ(op(plugin, "touch 3 a.txt 1000 1"), "ok");        // atime only
  EXPECT_EQ(modified(root_ / "mapped" / "a.txt"), 1000000);
  EXPECT_EQ(op(plugin, "open 3 a.txt r"), "fd=5");
  EXPECT_EQ(op(plugin, "ftouch 5 2000"), "ok");
  EXPECT_EQ(modified(root_ / "mapped" / "a.txt"), 2000);
  EXPECT_EQ(op(plugin, "ftouch 3 3000"), "ok");  // the preopened directory itself
  EXPECT_EQ(modified(root_ / "mapped"), 3000);
  EXPECT_EQ(op(plugin, "touch 3 ../secret.txt 1000"), "errno=76");
  EXPECT_EQ(op(plugin, "touch 3 up/secret.txt 1000"), "errno=76");
  EXPECT_NE(modified(root_ / "secret.txt"), 1000);
}

TEST_P(WasiTreeTest, AReadOnlyMappingRefusesEveryWriteWithENOTSUP) {
  Plugin plugin = files(/*data_read_only=*/true);
  for (const char* write :
       {"mkdir 3 x", "rmdir 3 sub", "unlink 3 a.txt", "rename 3 a.txt 3 b.txt",
        "rename 3 a.txt 4 a.txt", "rename 4 o.txt 3 o.txt", "open 3 a.txt w", "open 3 new.txt rc",
        "open 3 a.txt rt", "open 3 a.txt ra", "touch 3 a.txt 1000", "ftouch 3 1000"}) {
    EXPECT_EQ(op(plugin, write), "errno=58") << write;  // ENOTSUP, as the Rust runtime
  }
  EXPECT_EQ(op(plugin, "open 3 sub rd"), "fd=5");
  EXPECT_EQ(op(plugin, "mkdir 5 x"), "errno=58");  // a directory opened beneath it is read-only too
  EXPECT_EQ(op(plugin, "open 3 a.txt r"), "fd=6");
  EXPECT_EQ(op(plugin, "read 6 6"), "data=inside");
  EXPECT_EQ(op(plugin, "ftouch 6 1000"), "errno=58");
  EXPECT_EQ(plugin.call("list", "/data").value(), "a.txt\nlink.txt\nsub\nup");
  EXPECT_EQ(error_text(plugin.call("tree", "/data/a.txt\n/data/t")), "/data/t.d: Not supported");
  EXPECT_EQ(host_file(root_ / "mapped" / "a.txt"), "inside");
  EXPECT_TRUE(fs::is_directory(root_ / "mapped" / "sub"));
  EXPECT_TRUE(fs::exists(root_ / "other" / "o.txt"));
  EXPECT_EQ(op(plugin, "mkdir 4 fine"), "ok");  // the other mapping stays writable
}

TEST_P(WasiTreeTest, NoPathCanLeaveTheMappings) {
  Plugin plugin = files();
  const std::string outside = (root_ / "evil").string();
  const std::vector<std::string> escapes = {"mkdir 3 ../evil",
                                            "mkdir 3 " + outside,
                                            "mkdir 3 up/evil",
                                            "rmdir 3 ..",
                                            "rmdir 3 sub/../..",
                                            "unlink 3 ../secret.txt",
                                            "unlink 3 up/secret.txt",
                                            "rename 3 a.txt 3 ../stolen",
                                            "rename 3 a.txt 3 up/stolen",
                                            "rename 3 ../secret.txt 3 got",
                                            "rename 3 a.txt 4 ../stolen",
                                            "open 3 .. rd",
                                            "open 3 up/secret.txt r",
                                            "stat 3 ../secret.txt",
                                            "lstat 3 ../secret.txt",
                                            "lstat 3 up/secret.txt"};
  for (const std::string& escape : escapes) {
    EXPECT_EQ(op(plugin, escape), "errno=76") << escape;  // ENOTCAPABLE
  }
  // `op open` does not follow a last-component symlink: ENOTDIR with O_DIRECTORY, as on Linux.
  EXPECT_EQ(op(plugin, "open 3 up rd"), "errno=54");
  EXPECT_FALSE(fs::exists(root_ / "evil"));
  EXPECT_FALSE(fs::exists(root_ / "stolen"));
  EXPECT_EQ(host_file(root_ / "secret.txt"), "outside");
  EXPECT_EQ(host_file(root_ / "mapped" / "a.txt"), "inside");
  EXPECT_FALSE(fs::exists(root_ / "mapped" / "got"));
}

TEST_P(WasiTreeTest, OpenedDescriptorsDoNotOutliveResetOrFresh) {
  auto compiled = CompiledPlugin::compile(manifest(false), options());
  ASSERT_TRUE(compiled) << compiled.error();
  for (Recycle recycle : {Recycle::Reuse, Recycle::Reset, Recycle::Fresh}) {
    auto pool = Pool::create({.max_instances = 1,
                              .warm_count = 1,
                              .recycle = recycle,
                              .acquire_timeout = std::chrono::seconds(30)},
                             [&compiled] { return compiled->instantiate(); });
    ASSERT_TRUE(pool) << pool.error();
    for (int call = 0; call < 3; ++call) {
      auto plugin = pool->checkout();
      ASSERT_TRUE(plugin) << plugin.error();
      // Left open on purpose: Reuse keeps it, Reset and Fresh must not.
      const int expected_fd = recycle == Recycle::Reuse ? 5 + call : 5;
      EXPECT_EQ(op(**plugin, "open 3 a.txt r"), "fd=" + std::to_string(expected_fd));
      EXPECT_EQ(op(**plugin, "tell 6"), recycle == Recycle::Reuse && call > 0 ? "at=0" : "errno=8");
    }
  }
}

auto engine_name = [](const auto& info) { return std::string(info.param); };
INSTANTIATE_TEST_SUITE_P(Engines, WasiFilesTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);
INSTANTIATE_TEST_SUITE_P(Engines, WasiTreeTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);

}  // namespace
}  // namespace warmpool::extism
