// path_link, path_symlink, path_readlink and fd_renumber beneath allowed_paths on every engine,
// driven by a WAT guest that passes the test's arguments through as given
// (tests/extism/data/wasi_links.wat): links are made, read and followed inside a mapping; a
// guest-made symlink only points down (absolute targets and any `..` are refused), so none leads
// outside however it is chained, linked or renamed; links through host-made symlinks to /etc lead
// nowhere; a trailing slash does not follow a last symlink; path_readlink shows no target that
// climbs; a `ro:` mapping refuses new links; path_open without LOOKUPFLAGS_SYMLINK_FOLLOW does
// not open a symlink (ELOOP, as wasi-common); renumbering moves a descriptor and never a preopen;
// wild pointers get EFAULT and paths of PATH_MAX bytes ENAMETOOLONG before they are read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;

const std::string kGuest = std::string(WARMPOOL_EXTISM_TEST_DATA) + "/wasi_links.wat";

// WASI errno values.
constexpr std::uint32_t kSuccess = 0, kAccess = 2, kBadFd = 8, kExist = 20, kFault = 21,
                        kInvalid = 28, kLoop = 32, kNameTooLong = 37, kNoEnt = 44, kNotDir = 54,
                        kNotSup = 58, kNotCapable = 76;
constexpr std::uint32_t kFollow = 1;                     // LOOKUPFLAGS_SYMLINK_FOLLOW
constexpr std::uint32_t kDirectory = 2;                  // OFLAGS_DIRECTORY
constexpr std::uint32_t kRead = 2;                       // RIGHTS_FD_READ
constexpr std::uint32_t kRegularFile = 4, kSymlink = 7;  // filetypes

// The guest's input: four numbers, then two strings with their lengths first.
std::string input(std::array<std::uint32_t, 4> numbers, std::string_view first = {},
                  std::string_view second = {}) {
  std::string out;
  auto put = [&out](std::uint32_t value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
  };
  for (const std::uint32_t number : numbers) put(number);
  put(static_cast<std::uint32_t>(first.size()));
  put(static_cast<std::uint32_t>(second.size()));
  return out.append(first).append(second);
}

std::uint32_t word(const std::string& output, std::size_t index) {
  std::uint32_t value = 0;
  if (output.size() >= 4 * (index + 1)) std::memcpy(&value, output.data() + 4 * index, 4);
  return value;
}

class WasiLinksTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::ranges::replace(test, '/', '_');
    root_ = fs::temp_directory_path() /
            ("warmpool_wasi_links_" + test + "_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "mapped" / "sub");
    fs::create_directories(root_ / "ro");
    std::ofstream(root_ / "mapped" / "a.txt") << "inside";
    std::ofstream(root_ / "mapped" / "b.txt") << "bee";
    std::ofstream(root_ / "ro" / "r.txt") << "read-only";
    std::ofstream(root_ / "secret.txt") << "outside";
    // Made on the host, where nothing stops them from pointing outside.
    fs::create_symlink(root_ / "secret.txt", root_ / "mapped" / "absolute");
    fs::create_symlink("../secret.txt", root_ / "mapped" / "relative");
    fs::create_directory_symlink("/etc", root_ / "mapped" / "etc");
    fs::create_directory_symlink(root_, root_ / "mapped" / "up");
    fs::create_symlink("r.txt", root_ / "ro" / "to_r");

    Manifest manifest = *Manifest::load_file(kGuest);
    manifest.allowed_paths.push_back({root_ / "mapped", "/data", false});  // fd 3
    manifest.allowed_paths.push_back({root_ / "ro", "/ro", true});         // fd 4
    auto created =
        Plugin::create(manifest, {.engine = *wasm::Engine::named(GetParam()), .wasi = true});
    ASSERT_TRUE(created) << created.error();
    plugin_.emplace(std::move(*created));
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string call(const char* name, const std::string& arguments) {
    auto out = plugin_->call(name, arguments);
    EXPECT_TRUE(out) << name << ": " << out.error();
    return out.value_or("");
  }
  std::uint32_t symlink(std::string_view target, std::uint32_t dir, std::string_view path) {
    return word(call("symlink", input({dir, 0, 0, 0}, target, path)), 0);
  }
  std::uint32_t link(std::uint32_t from_dir, std::string_view from, std::uint32_t to_dir,
                     std::string_view to, std::uint32_t lookup = 0) {
    return word(call("link", input({from_dir, lookup, to_dir, 0}, from, to)), 0);
  }
  // "errno=N" on failure, else the target as the guest's buffer of `size` bytes received it.
  std::uint32_t rename(std::uint32_t from_dir, std::string_view from, std::uint32_t to_dir,
                       std::string_view to) {
    return word(call("rename", input({from_dir, 0, to_dir, 0}, from, to)), 0);
  }
  // Whether the host, following `name` beneath the mapping, stays inside it.
  bool leads_inside(const fs::path& name) const {
    const fs::path mapped = fs::canonical(root_ / "mapped");
    const fs::path resolved = fs::weakly_canonical(root_ / "mapped" / name);
    const auto [end, rest] = std::ranges::mismatch(mapped, resolved);
    return end == mapped.end();
  }
  std::string readlink(std::uint32_t dir, std::string_view path, std::uint32_t size = 64) {
    const std::string out = call("readlink", input({dir, size, 0, 0}, path));
    if (word(out, 0) != kSuccess) return "errno=" + std::to_string(word(out, 0));
    const std::uint32_t used = word(out, 1);
    // Bytes past bufused are never touched.
    EXPECT_EQ(out.find_first_not_of('\xAA', 8 + used), std::string::npos) << path;
    return out.substr(8, used);
  }
  // "fd=N" or "errno=N".
  std::string open(std::uint32_t dir, std::string_view path, std::uint32_t lookup,
                   std::uint32_t oflags = 0) {
    const std::string out = call("open", input({dir, lookup, oflags, kRead}, path));
    return word(out, 0) == kSuccess ? "fd=" + std::to_string(word(out, 1))
                                    : "errno=" + std::to_string(word(out, 0));
  }
  // The file's contents (up to 64 bytes) or "errno=N".
  std::string read(std::uint32_t fd) {
    const std::string out = call("read", input({fd, 0, 0, 0}));
    if (word(out, 0) != kSuccess) return "errno=" + std::to_string(word(out, 0));
    return out.substr(8, word(out, 1));
  }
  // Opens `path` beneath `dir` following symlinks, reads it and closes it.
  std::string follow(std::uint32_t dir, std::string_view path) {
    const std::string opened = open(dir, path, kFollow);
    if (!opened.starts_with("fd=")) return opened;
    const std::uint32_t fd = static_cast<std::uint32_t>(std::stoul(opened.substr(3)));
    std::string contents = read(fd);
    EXPECT_EQ(word(call("close", input({fd, 0, 0, 0})), 0), kSuccess);
    return contents;
  }
  std::uint32_t renumber(std::uint32_t from, std::uint32_t to) {
    return word(call("renumber", input({from, to, 0, 0})), 0);
  }
  // {errno, filetype, nlink}.
  std::array<std::uint32_t, 3> stat(std::uint32_t dir, std::string_view path,
                                    std::uint32_t lookup) {
    const std::string out = call("stat", input({dir, lookup, 0, 0}, path));
    return {word(out, 0), word(out, 1), word(out, 2)};
  }

  fs::path root_;
  std::optional<Plugin> plugin_;
};

TEST_P(WasiLinksTest, SymlinksAreMadeReadAndFollowedBeneathTheMapping) {
  EXPECT_EQ(symlink("a.txt", 3, "to_a"), kSuccess);
  EXPECT_EQ(fs::read_symlink(root_ / "mapped" / "to_a"), "a.txt");
  EXPECT_EQ(readlink(3, "to_a"), "a.txt");
  EXPECT_EQ(readlink(3, "to_a", 3), "a.t");  // cut to the buffer, as readlink(2)
  EXPECT_EQ(follow(3, "to_a"), "inside");
  EXPECT_EQ(stat(3, "to_a", 0), (std::array<std::uint32_t, 3>{kSuccess, kSymlink, 1}));
  EXPECT_EQ(stat(3, "to_a", kFollow)[1], kRegularFile);
  // Down into a subdirectory, through a chain of links, and made through a symlinked directory.
  std::ofstream(root_ / "mapped" / "sub" / "c.txt") << "sea";
  EXPECT_EQ(symlink("sub/c.txt", 3, "to_c"), kSuccess);
  EXPECT_EQ(follow(3, "to_c"), "sea");
  EXPECT_EQ(symlink("sub", 3, "to_sub"), kSuccess);
  EXPECT_EQ(symlink("./to_sub//c.txt", 3, "chained"), kSuccess);
  EXPECT_EQ(follow(3, "chained"), "sea");
  EXPECT_EQ(symlink("c.txt", 3, "to_sub/made_through"), kSuccess);
  EXPECT_EQ(follow(3, "sub/made_through"), "sea");
  EXPECT_EQ(symlink("a..b/..c", 3, "dots"), kSuccess);  // `..` inside a name is only a name
  // Dangling links may be made; following one finds nothing.
  EXPECT_EQ(symlink("nowhere", 3, "dangling"), kSuccess);
  EXPECT_EQ(follow(3, "dangling"), "errno=" + std::to_string(kNoEnt));
  EXPECT_EQ(symlink("a.txt", 3, "to_a"), kExist);
  EXPECT_EQ(symlink("", 3, "empty"), kNoEnt);
  EXPECT_EQ(symlink(std::string_view("a\0b", 3), 3, "nul"), kInvalid);
  EXPECT_EQ(readlink(3, "a.txt"), "errno=" + std::to_string(kInvalid));  // not a symlink
  EXPECT_EQ(readlink(3, "missing"), "errno=" + std::to_string(kNoEnt));
  EXPECT_EQ(readlink(4, "to_r"), "r.txt");  // reading is fine beneath `ro:`
}

TEST_P(WasiLinksTest, PathOpenFollowsALastSymlinkOnlyWhenAsked) {
  EXPECT_EQ(symlink("a.txt", 3, "to_a"), kSuccess);
  EXPECT_EQ(symlink("sub", 3, "to_sub"), kSuccess);
  EXPECT_EQ(open(3, "to_a", 0), "errno=" + std::to_string(kLoop));
  EXPECT_EQ(open(3, "to_sub", 0, kDirectory), "errno=" + std::to_string(kNotDir));
  EXPECT_TRUE(open(3, "to_sub", kFollow, kDirectory).starts_with("fd="));
  // Symlinks before the last component are always followed (beneath the mapping).
  EXPECT_TRUE(open(3, "to_sub/../a.txt", 0).starts_with("fd="));
}

TEST_P(WasiLinksTest, NoSymlinkCanBeMadeToPointUpOrOutside) {
  const std::string outside = (root_ / "secret.txt").string();
  for (std::string_view target :
       {std::string_view("/etc/passwd"), std::string_view("/"), std::string_view(outside),
        std::string_view("../secret.txt"), std::string_view(".."), std::string_view("sub/.."),
        std::string_view("sub/../a.txt"), std::string_view("sub/../../secret.txt"),
        std::string_view("./../mapped/a.txt"), std::string_view("sub//..//")}) {
    EXPECT_EQ(symlink(target, 3, "escape"), kNotCapable) << target;
    EXPECT_FALSE(fs::is_symlink(root_ / "mapped" / "escape")) << target;
    EXPECT_EQ(symlink(target, 3, "sub/escape"), kNotCapable) << target;
  }
  EXPECT_FALSE(fs::exists(root_ / "mapped" / "sub" / "escape"));
}

// A check of how far a target climbs, made where the link is created, could not hold: the host
// resolves symlinks inside a target, and a link can be moved nearer the mapping later.
TEST_P(WasiLinksTest, NoGuestMadeLinkLeadsOutsideHoweverItIsChainedOrMoved) {
  EXPECT_EQ(symlink(".", 3, "u"), kSuccess);
  EXPECT_EQ(symlink("u/../secret.txt", 3, "l1"), kNotCapable);  // with u -> ., one level up
  EXPECT_EQ(symlink("u/..", 3, "p1"), kNotCapable);
  EXPECT_EQ(symlink("../secret.txt", 3, "sub/l2"), kNotCapable);  // inside, as written
  fs::create_directories(root_ / "mapped" / "sub" / "deeper");
  EXPECT_EQ(symlink("b.txt", 3, "sub/deeper/down"), kSuccess);
  EXPECT_EQ(link(3, "sub/deeper/down", 3, "hard_down"), kSuccess);
  EXPECT_EQ(rename(3, "sub/deeper/down", 3, "moved_down"), kSuccess);
  EXPECT_EQ(link(3, "sub/l2", 3, "l2"), kNoEnt);
  EXPECT_EQ(follow(3, "moved_down"), "bee");
  for (const char* name : {"u", "u/u/u", "hard_down", "moved_down", "l1", "p1", "l2"}) {
    EXPECT_TRUE(leads_inside(name)) << name;
  }
}

// The rule is local to where a link is made: a directory the host moved out of its mapping still
// takes only symlinks that point down.
TEST_P(WasiLinksTest, ADirectoryMovedOutOfItsMappingTakesOnlyDownwardSymlinks) {
  EXPECT_EQ(open(3, "sub", 0, kDirectory), "fd=5");
  fs::rename(root_ / "mapped" / "sub", root_ / "moved");  // on the host, behind the guest's back
  EXPECT_EQ(symlink("x", 5, "after_move"), kSuccess);
  EXPECT_EQ(symlink("../secret.txt", 5, "up"), kNotCapable);
  EXPECT_FALSE(fs::exists(root_ / "moved" / "up"));
  EXPECT_EQ(readlink(5, "after_move"), "x");
}

// Linux follows a last symlink named with a trailing slash even for readlinkat and linkat, and
// outside RESOLVE_BENEATH: their answers would tell whether a host directory exists.
TEST_P(WasiLinksTest, ATrailingSlashDoesNotFollowALastSymlink) {
  fs::create_directory_symlink("/nonexistent_dir_of_the_test", root_ / "mapped" / "nowhere");
  for (std::string_view path : {"etc/", "nowhere/", "etc//", "a.txt/"}) {
    EXPECT_EQ(readlink(3, path), "errno=" + std::to_string(kNotDir)) << path;
    EXPECT_EQ(link(3, path, 3, "x"), kNotDir) << path;
    EXPECT_EQ(rename(3, path, 3, "x"), kNotDir) << path;
  }
  EXPECT_TRUE(fs::is_symlink(root_ / "mapped" / "etc"));
  EXPECT_FALSE(fs::exists(root_ / "mapped" / "x"));
  // A directory with a slash is still that directory; a missing name keeps the kernel's answer.
  EXPECT_EQ(readlink(3, "sub/"), "errno=" + std::to_string(kInvalid));  // not a symlink
  EXPECT_EQ(readlink(3, "missing/"), "errno=" + std::to_string(kNoEnt));
  EXPECT_EQ(rename(3, "sub//", 3, "sub2/"), kSuccess);
  EXPECT_TRUE(fs::is_directory(root_ / "mapped" / "sub2"));
}

// A length is refused before the guest's bytes are copied: ENAMETOOLONG even where they would
// lie past the end of memory.
TEST_P(WasiLinksTest, PathsOfPathMaxBytesAreRefusedBeforeTheyAreRead) {
  std::string arguments = input({3, 64, 3, 0}, "a.txt", "x");
  const std::uint32_t past_memory = 1u << 20;  // the guest has 64 KiB
  std::memcpy(arguments.data() + 16, &past_memory, 4);
  for (const char* name : {"symlink", "readlink", "open", "link", "rename"}) {
    EXPECT_EQ(word(call(name, arguments), 0), kNameTooLong) << name;
  }
  EXPECT_EQ(symlink(std::string(4096, 'a'), 3, "long"), kNameTooLong);
  EXPECT_EQ(readlink(3, std::string(4096, 'a')), "errno=" + std::to_string(kNameTooLong));
  EXPECT_FALSE(fs::is_symlink(root_ / "mapped" / "long"));
}

TEST_P(WasiLinksTest, NoLinkCanBeMadeOutsideOrThroughALinkThatLeaves) {
  EXPECT_EQ(symlink("a.txt", 3, "../planted"), kNotCapable);
  EXPECT_EQ(symlink("a.txt", 3, (root_ / "planted").string()), kNotCapable);
  EXPECT_EQ(symlink("a.txt", 3, "up/planted"), kNotCapable);
  EXPECT_EQ(link(3, "a.txt", 3, "../planted"), kNotCapable);
  EXPECT_EQ(link(3, "a.txt", 3, "up/planted"), kNotCapable);
  EXPECT_EQ(link(3, "../secret.txt", 3, "stolen"), kNotCapable);
  EXPECT_EQ(link(3, "up/secret.txt", 3, "stolen"), kNotCapable);
  EXPECT_EQ(link(3, (root_ / "secret.txt").string(), 3, "stolen"), kNotCapable);
  EXPECT_FALSE(fs::exists(root_ / "planted"));
  EXPECT_FALSE(fs::exists(root_ / "mapped" / "stolen"));
}

TEST_P(WasiLinksTest, HostMadeSymlinksToOutsideCanBeNeitherFollowedNorRead) {
  for (std::string_view path : {"absolute", "relative", "etc/passwd", "up/secret.txt"}) {
    EXPECT_EQ(follow(3, path), "errno=" + std::to_string(kNotCapable)) << path;
  }
  // A target that is absolute or climbs (no guest can make one) is not shown: it would tell the
  // guest about the host's directories.
  EXPECT_EQ(readlink(3, "absolute"), "errno=" + std::to_string(kNotCapable));
  EXPECT_EQ(readlink(3, "etc"), "errno=" + std::to_string(kNotCapable));
  EXPECT_EQ(readlink(3, "relative"), "errno=" + std::to_string(kNotCapable));
  fs::create_symlink("sub/../a.txt", root_ / "mapped" / "zigzag");
  EXPECT_EQ(readlink(3, "zigzag"), "errno=" + std::to_string(kNotCapable));
  EXPECT_EQ(readlink(3, "up/secret.txt"), "errno=" + std::to_string(kNotCapable));
  EXPECT_EQ(readlink(3, "../relative"), "errno=" + std::to_string(kNotCapable));
  // A hard link to such a symlink links the symlink, which still leads nowhere.
  EXPECT_EQ(link(3, "absolute", 3, "copy"), kSuccess);
  EXPECT_TRUE(fs::is_symlink(root_ / "mapped" / "copy"));
  EXPECT_EQ(follow(3, "copy"), "errno=" + std::to_string(kNotCapable));
}

TEST_P(WasiLinksTest, HardLinksAreMadeBetweenWritableNamesOnly) {
  EXPECT_EQ(link(3, "a.txt", 3, "sub/hard"), kSuccess);
  EXPECT_EQ(fs::hard_link_count(root_ / "mapped" / "a.txt"), 2u);
  EXPECT_EQ(stat(3, "sub/hard", 0), (std::array<std::uint32_t, 3>{kSuccess, kRegularFile, 2}));
  EXPECT_EQ(follow(3, "sub/hard"), "inside");
  EXPECT_EQ(link(3, "a.txt", 3, "sub/hard"), kExist);
  EXPECT_EQ(link(3, "a.txt", 3, "sub"), kExist);
  EXPECT_EQ(link(3, "sub", 3, "dir_link"), kAccess);  // EPERM: no hard links to directories
  EXPECT_EQ(link(3, "missing", 3, "x"), kNoEnt);
  EXPECT_EQ(link(3, "a.txt", 3, "slash/"), kNoEnt);
  EXPECT_EQ(link(3, "a.txt", 3, "x", kFollow), kInvalid);  // as wasi-common: never followed
  EXPECT_EQ(link(99, "a.txt", 3, "x"), kBadFd);
  // `ro:` on either side: a link out of it would make its file writable.
  EXPECT_EQ(link(4, "r.txt", 3, "w"), kNotSup);
  EXPECT_EQ(link(3, "a.txt", 4, "w"), kNotSup);
  EXPECT_EQ(symlink("r.txt", 4, "w"), kNotSup);
  EXPECT_FALSE(fs::exists(root_ / "mapped" / "w"));
  EXPECT_FALSE(fs::exists(root_ / "ro" / "w"));
  EXPECT_EQ(fs::hard_link_count(root_ / "ro" / "r.txt"), 1u);
}

TEST_P(WasiLinksTest, RenumberMovesADescriptorAndClosesTheOneItReplaces) {
  EXPECT_EQ(open(3, "a.txt", 0), "fd=5");
  EXPECT_EQ(open(3, "b.txt", 0), "fd=6");
  EXPECT_EQ(renumber(5, 6), kSuccess);
  EXPECT_EQ(read(6), "inside");
  EXPECT_EQ(read(5), "errno=" + std::to_string(kBadFd));
  EXPECT_EQ(renumber(5, 6), kBadFd);  // 5 is closed now
  EXPECT_EQ(renumber(6, 5), kBadFd);  // and cannot be replaced
  EXPECT_EQ(renumber(6, 6), kSuccess);
  EXPECT_EQ(open(3, "b.txt", 0), "fd=5");  // the freed number is used again
  EXPECT_EQ(read(5), "bee");
  // Preopens and the captured stdio are never renumbered (ENOTSUP, as wasi-common's preopens).
  const std::array<std::pair<std::uint32_t, std::uint32_t>, 6> refused = {
      {{3, 5}, {5, 3}, {4, 3}, {1, 5}, {5, 2}, {0, 1}}};
  for (auto [from, to] : refused) {
    EXPECT_EQ(renumber(from, to), kNotSup) << from << " -> " << to;
  }
  EXPECT_EQ(renumber(0xffffffffu, 5), kBadFd);
  EXPECT_EQ(renumber(5, 0xffffffffu), kBadFd);
  EXPECT_EQ(read(5), "");                       // still open, at its end
  EXPECT_EQ(stat(3, "a.txt", 0)[0], kSuccess);  // preopen 3 untouched
  ASSERT_TRUE(plugin_->reset());
  EXPECT_EQ(read(6), "errno=" + std::to_string(kBadFd));
  EXPECT_EQ(open(3, "a.txt", 0), "fd=5");
}

TEST_P(WasiLinksTest, WildPointersAreEFAULT) {
  EXPECT_EQ(symlink("a.txt", 3, "to_a"), kSuccess);
  const std::string out = call("hostile", input({0, 0, 0, 0}, "to_a"));
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(word(out, i), kFault) << "call " << i;
  // A buffer that ends past memory is refused whole, even for a short target.
  const std::string past_end = call("readlink", input({3, 64, 65536 - 8, 0}, "to_a"));
  EXPECT_EQ(word(past_end, 0), kFault);
  EXPECT_TRUE(plugin_->healthy());
  EXPECT_EQ(readlink(3, "to_a"), "a.txt");
}

auto engine_name = [](const auto& info) { return std::string(info.param); };
INSTANTIATE_TEST_SUITE_P(Engines, WasiLinksTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);

}  // namespace
}  // namespace warmpool::extism
