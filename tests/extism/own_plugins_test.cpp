// warmpool's own Extism plugins (plugins/extism/, written against
// plugins/include/warmpool_extism.h) on every engine: each kernel function, hostile uses of the
// kernel, vars under each recycle mode, config, logs, HTTP denial, host functions with a per-call
// context, and WASI files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "one_instance_pool.hpp"
#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Manifest own_plugin(std::string_view name) {
  const fs::path path = fs::path(WARMPOOL_PLUGIN_DIR) / ("extism_" + std::string(name) + ".wasm");
  auto manifest = Manifest::load_file(path);
  if (!manifest) throw std::runtime_error(manifest.error().message());
  return std::move(*manifest);
}

class OwnPluginsTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  PluginOptions options() const { return {.engine = *wasm::Engine::named(GetParam())}; }

  Plugin create(const Manifest& manifest, PluginOptions o) {
    auto plugin = Plugin::create(manifest, std::move(o));
    if (!plugin) throw std::runtime_error(plugin.error().message());
    return std::move(*plugin);
  }
  Plugin create(std::string_view name) { return create(own_plugin(name), options()); }
};

std::string error_of(const std::expected<std::string, Error>& out) {
  return out ? "(no error; output " + *out + ")" : out.error().message();
}

// --- kernel_tour: one export per kernel function ---

TEST_P(OwnPluginsTest, InputAndOutputRoundTripAnyBytes) {
  Plugin tour = create("kernel_tour");
  EXPECT_EQ(tour.call("echo", "").value(), "");
  EXPECT_EQ(tour.call("echo", "a").value(), "a");
  EXPECT_EQ(tour.call("echo", "hello world").value(), "hello world");
  std::string every_byte(300'003, '\0');
  for (std::size_t i = 0; i < every_byte.size(); ++i) every_byte[i] = static_cast<char>(i * 7);
  EXPECT_EQ(tour.call("echo", every_byte).value(), every_byte);
}

TEST_P(OwnPluginsTest, FunctionExportsAreCallableAndOtherNamesAreNotFound) {
  Plugin tour = create("kernel_tour");
  EXPECT_TRUE(tour.function_exists("echo"));
  EXPECT_FALSE(tour.function_exists("memory"));  // the memory export is no function
  EXPECT_FALSE(tour.function_exists("nope"));
  auto out = tour.call("memory", "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::not_found);
  EXPECT_EQ(out.error().message(), "Function not found: memory");
}

TEST_P(OwnPluginsTest, InputOffsetIsABlockOfTheInputAndFreeingItEmptiesTheInput) {
  Plugin tour = create("kernel_tour");
  EXPECT_EQ(tour.call("input_block", "hello world").value(), "11|hello world|0");
  EXPECT_EQ(tour.call("input_block", "").value(), "0||0");
}

TEST_P(OwnPluginsTest, AllocFreeLengthLoadAndStore) {
  Plugin tour = create("kernel_tour");
  const std::string expected =
      "alloc(0)=0 length=16 length_unsafe=16 interior=0 u8=0xab u64=0x0102030405060708 "
      "low_byte=8 freed=0 reused=yes";
  EXPECT_EQ(tour.call("kernel_memory", "").value(), expected);
  EXPECT_EQ(tour.call("kernel_memory", "").value(), expected);  // kernel memory is wiped per call
}

TEST_P(OwnPluginsTest, ConfigValuesAndAbsentKeys) {
  Manifest manifest = own_plugin("kernel_tour");
  manifest.config = {{"greeting", "Howdy"}, {"empty", ""}};
  Plugin tour = create(manifest, options());
  EXPECT_EQ(tour.call("config", "greeting").value(), "Howdy");
  EXPECT_EQ(tour.call("config", "empty").value(), "(absent)");  // empty is null, as in Rust
  EXPECT_EQ(tour.call("config", "missing").value(), "(absent)");
}

TEST_P(OwnPluginsTest, VarsPersistWithinAnInstanceUntilRemovedOrReset) {
  Plugin tour = create("kernel_tour");
  EXPECT_EQ(tour.call("var_swap", "one").value(), "(none)");
  EXPECT_EQ(tour.call("var_swap", "two").value(), "one");
  EXPECT_EQ(tour.call("var_swap", "three").value(), "two");
  EXPECT_EQ(tour.call("var_remove", "").value(), "removed");
  EXPECT_EQ(tour.call("var_swap", "four").value(), "(none)");
  EXPECT_EQ(tour.call("var_swap", "").value(), "four");  // an empty value removes it too
  EXPECT_EQ(tour.call("var_swap", "five").value(), "(none)");
  ASSERT_TRUE(tour.reset());
  EXPECT_EQ(tour.call("var_swap", "six").value(), "(none)");
}

TEST_P(OwnPluginsTest, VarsUnderEachRecycleModeOfAPool) {
  auto compiled = CompiledPlugin::compile(own_plugin("kernel_tour"), options());
  ASSERT_TRUE(compiled) << compiled.error();
  EXPECT_EQ(test::outputs_of_checkouts(*compiled, Recycle::Reuse, "var_count", 4), "1234");
  EXPECT_EQ(test::outputs_of_checkouts(*compiled, Recycle::Reset, "var_count", 4), "1111");
  EXPECT_EQ(test::outputs_of_checkouts(*compiled, Recycle::Fresh, "var_count", 4), "1111");
}

TEST_P(OwnPluginsTest, VarStoreFullAndVarsDisabledFailTheCall) {
  Manifest manifest = own_plugin("kernel_tour");
  manifest.max_var_bytes = 8;
  Plugin bounded = create(manifest, options());
  EXPECT_EQ(bounded.call("var_swap", "12345678").value(), "(none)");
  auto full = bounded.call("var_swap", "123456789");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message(),
            "extism_kernel_tour.wasm: var_swap: host function 'extism:host/env.var_set' stopped "
            "the call: Variable store is full (9 bytes requested, max_var_bytes is 8)");
  manifest.max_var_bytes = 0;
  auto disabled = create(manifest, options()).call("var_swap", "x");
  ASSERT_FALSE(disabled);
  EXPECT_EQ(disabled.error().message(),
            "extism_kernel_tour.wasm: var_swap: host function 'extism:host/env.var_set' stopped "
            "the call: Vars are disabled by this host");
}

TEST_P(OwnPluginsTest, ErrorSetIsTheCallsErrorAndErrorGetAnswersIt) {
  Plugin tour = create("kernel_tour");
  auto failed = tour.call("error_roundtrip", "it broke: exactly this");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind(), ErrorKind::plugin);
  EXPECT_EQ(failed.error().message(), "it broke: exactly this");
  EXPECT_EQ(failed.error().return_code(), 0);  // failed although it returned 0
  EXPECT_TRUE(tour.healthy());
  EXPECT_EQ(tour.call("error_cleared", "").value(), "cleared");
  auto rc = tour.call("exit_code", "");
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error().message(), "Returned non-zero exit code: 42");
  EXPECT_EQ(rc.error().return_code(), 42);
  EXPECT_EQ(tour.call("echo", "still usable").value(), "still usable");
}

TEST_P(OwnPluginsTest, LogLinesAtOrAboveTheLevelAndGetLogLevel) {
  std::vector<std::string> lines;
  PluginOptions o = options();
  o.log_sink = [&](LogLevel level, std::string_view message) {
    lines.push_back(std::string(to_string(level)) + "|" + std::string(message));
  };
  EXPECT_EQ(create(own_plugin("kernel_tour"), o).call("log_levels", "off").value(), "2147483647");
  EXPECT_TRUE(lines.empty());

  o.log_level = LogLevel::warn;
  EXPECT_EQ(create(own_plugin("kernel_tour"), o).call("log_levels", "w").value(), "3");
  EXPECT_EQ(lines, (std::vector<std::string>{"warn|warn: w", "error|error: w"}));

  lines.clear();
  o.log_level = LogLevel::trace;
  EXPECT_EQ(create(own_plugin("kernel_tour"), o).call("log_levels", "t").value(), "0");
  EXPECT_EQ(lines, (std::vector<std::string>{"trace|trace: t", "debug|debug: t", "info|info: t",
                                             "warn|warn: t", "error|error: t"}));
}

TEST_P(OwnPluginsTest, HttpRequestIsDeniedUnlessAllowedHostsMatch) {
  Plugin tour = create("kernel_tour");
  EXPECT_EQ(tour.call("http_before_request", "").value(), "status=0 headers=0");
  auto denied = tour.call("http_get", "http://example.com/data");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().message(),
            "extism_kernel_tour.wasm: http_get: host function 'extism:host/env.http_request' "
            "stopped the call: HTTP request to \"http://example.com/data\" is not allowed (no "
            "allowed_hosts match \"example.com\")");

  Manifest manifest = own_plugin("kernel_tour");
  manifest.allowed_hosts = std::vector<std::string>{"*.example.org", "example.net"};
  auto other_host = create(manifest, options()).call("http_get", "https://api.example.com:8443/x");
  ASSERT_FALSE(other_host);
  EXPECT_THAT(other_host.error().message(),
              EndsWith("HTTP request to \"https://api.example.com:8443/x\" is not allowed (no "
                       "allowed_hosts match \"api.example.com\")"));
}

// --- hostile: abuse of the kernel gets a value, a clear error or a trap ---

TEST_P(OwnPluginsTest, WildAddressesReadZeroAndStoresThereDoNothing) {
  Plugin hostile = create("hostile");
  EXPECT_EQ(hostile.call("wild_memory", "").value(), "loaded=0 after=7");
  EXPECT_EQ(hostile.call("wild_memory", "some input").value(), "loaded=0 after=7");
  EXPECT_EQ(hostile.call("free_wild", "").value(), "length=8");
  EXPECT_EQ(hostile.call("wild_keys", "").value(), "config=0 var=0");
  EXPECT_EQ(hostile.call("error_wild", "").value(), "no error");
}

TEST_P(OwnPluginsTest, StoresPastABlockStayInsideKernelMemory) {
  // The u64 store spills into the next block (one arena, as in the reference kernel); the
  // stores 4 GiB further on do nothing.
  EXPECT_EQ(create("hostile").call("store_past_end", "").value(),
            "length=4 neighbour_length=4 neighbour_byte=17");
}

TEST_P(OwnPluginsTest, HugeAllocationsAreRefusedWithNull) {
  Plugin hostile = create("hostile");
  EXPECT_EQ(hostile.call("huge_alloc", "").value(), "100GB=0 max=0 small_length=8");
  Manifest manifest = own_plugin("hostile");
  manifest.max_pages = 8;  // 512 KiB of kernel memory: seven 64 KiB blocks after the null bytes
  Plugin capped = create(manifest, options());
  EXPECT_EQ(capped.call("fill_kernel_memory", "").value(), "blocks=7");
  EXPECT_EQ(capped.call("fill_kernel_memory", "").value(), "blocks=7");  // given back per call
}

TEST_P(OwnPluginsTest, LengthOfAnInteriorOffsetIsZero) {
  EXPECT_EQ(create("hostile").call("interior_length", "").value(),
            "start=16 plus1=0 plus15=0 end=0 minus1=0");
}

TEST_P(OwnPluginsTest, FreeingTwiceDoesNotHandOneBlockOutTwice) {
  EXPECT_EQ(create("hostile").call("double_free", "").value(), "distinct first=1 second=2");
}

TEST_P(OwnPluginsTest, OutputOutsideKernelMemoryIsAClearErrorAndTheInstanceStaysUsable) {
  Plugin hostile = create("hostile");
  auto wild = hostile.call("output_wild", "");
  ASSERT_FALSE(wild);
  EXPECT_EQ(wild.error().kind(), ErrorKind::plugin);
  EXPECT_EQ(wild.error().message(),
            "output_set(1099511627776, 16) is outside kernel memory (65536 bytes)");
  auto too_long = hostile.call("output_too_long", "");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().message(),
            "output_set(8, 18446744073709551615) is outside kernel memory (65536 bytes)");
  EXPECT_TRUE(hostile.healthy());
  EXPECT_EQ(hostile.call("interior_length", "").value(),
            "start=16 plus1=0 plus15=0 end=0 minus1=0");
}

TEST_P(OwnPluginsTest, GuestMemoryIsCappedByMaxPagesWithoutFailingTheHost) {
  Manifest manifest = own_plugin("hostile");
  manifest.max_pages = 40;  // 2.5 MiB of linear memory: malloc gets two MiB, then NULL
  Plugin capped = create(manifest, options());
  EXPECT_EQ(capped.call("fill_guest_memory", "").value(), "mebibytes=2");
  EXPECT_TRUE(capped.healthy());  // a refused memory.grow is malloc's NULL, not a trap
  EXPECT_EQ(capped.call("fill_guest_memory", "").value(), "mebibytes=2");
}

TEST_P(OwnPluginsTest, TrapsPoisonTheInstanceAndLaterCallsAreRefused) {
  const bool v8 = GetParam() == "v8";
  for (std::string_view function : {"trap", "stack_overflow"}) {
    Plugin hostile = create("hostile");
    auto out = hostile.call(function, "");
    ASSERT_FALSE(out) << function;
    EXPECT_EQ(out.error().kind(), ErrorKind::trap) << function << ": " << out.error();
    if (function == "trap") {
      EXPECT_EQ(out.error().message(), v8 ? "extism_hostile.wasm: trap: RuntimeError: unreachable"
                                          : "extism_hostile.wasm: trap: unreachable executed");
    } else {  // the C stack sits at the bottom of memory (--stack-first): it runs off address 0
      EXPECT_THAT(out.error().message(), StartsWith("extism_hostile.wasm: stack_overflow: "));
      EXPECT_THAT(out.error().message(), HasSubstr("out of bounds"));
    }
    EXPECT_FALSE(hostile.healthy());
    auto again = hostile.call("huge_alloc", "");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message(),
              "huge_alloc: the plugin was stopped by an earlier call; create a new one (" +
                  out.error().message() + ")");
  }
}

TEST_P(OwnPluginsTest, TimeoutStopsARunawayCallAndPoisonsTheInstance) {
  Manifest manifest = own_plugin("hostile");
  manifest.timeout = std::chrono::milliseconds(50);
  Plugin hostile = create(manifest, options());
  auto out = hostile.call("spin", "");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::timeout) << out.error();
  EXPECT_EQ(out.error().message(),
            "timeout: extism_hostile.wasm: spin: deadline of 50 ms exceeded");
  EXPECT_FALSE(hostile.healthy());
}

// --- host_user: host functions of extism:host/user with a per-call context ---

struct CallContext {
  std::string caller;
};

PluginOptions with_host_functions(PluginOptions o) {
  o.host_functions.push_back(
      {"extism:host/user", "tag",
       wasm::HostFunction::wrap([](wasm::Caller& caller,
                                   std::int64_t bytes) -> std::expected<std::int64_t, std::string> {
         Kernel& kernel = *Kernel::of(caller);
         const auto* context = static_cast<const CallContext*>(kernel.user_context());
         if (context == nullptr) return std::unexpected("tag: called without a CallContext");
         const std::string answer =
             context->caller + " says " + std::string(kernel.text(static_cast<Handle>(bytes)));
         return static_cast<std::int64_t>(kernel.allocate_bytes(answer));
       })});
  o.host_functions.push_back(
      {"extism:host/user", "add",
       wasm::HostFunction::wrap([](std::int64_t a, std::int64_t b) { return a + b; })});
  return o;
}

TEST_P(OwnPluginsTest, HostFunctionsSeeTheBlocksAndTheContextOfTheirCall) {
  Plugin user = create(own_plugin("host_user"), with_host_functions(options()));
  CallContext alice{"alice"};
  CallContext bob{"bob"};
  EXPECT_EQ(user.call("tag", "hi", &alice).value(), "alice says hi calls=1");
  EXPECT_EQ(user.call("tag", "there", &bob).value(), "bob says there calls=2");
  EXPECT_EQ(user.call("add", "").value(), "42 -2");
  ASSERT_TRUE(user.reset());
  EXPECT_EQ(user.call("tag", "again", &alice).value(), "alice says again calls=1");
}

TEST_P(OwnPluginsTest, AHostFunctionsErrorStopsTheCallAndPoisonsTheInstance) {
  Plugin user = create(own_plugin("host_user"), with_host_functions(options()));
  auto out = user.call("tag", "no context");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind(), ErrorKind::trap);
  EXPECT_EQ(out.error().message(),
            "extism_host_user.wasm: tag: host function 'extism:host/user.tag' stopped the call: "
            "tag: called without a CallContext");
  EXPECT_FALSE(user.healthy());
}

TEST_P(OwnPluginsTest, AMissingHostFunctionIsALinkError) {
  auto plugin = Plugin::create(own_plugin("host_user"), options());
  ASSERT_FALSE(plugin);
  EXPECT_EQ(plugin.error().kind(), ErrorKind::link);
  EXPECT_EQ(plugin.error().message(),
            "extism_host_user.wasm: unknown import 'extism:host/user.tag'");
}

// --- wasi_files: wasi-libc file calls beneath allowed_paths ---

class OwnWasiPluginTest : public OwnPluginsTest {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::ranges::replace(test, '/', '_');
    root_ = fs::temp_directory_path() / ("warmpool_own_wasi_" + test);
    fs::remove_all(root_);
    fs::create_directories(root_ / "mapped" / "sub");
    std::ofstream(root_ / "mapped" / "a.txt") << "inside";
    std::ofstream(root_ / "secret.txt") << "outside";
    fs::create_symlink(root_ / "secret.txt", root_ / "mapped" / "link.txt");
  }
  void TearDown() override { fs::remove_all(root_); }

  Plugin files(bool read_only) {
    Manifest manifest = own_plugin("wasi_files");
    manifest.allowed_paths.push_back({root_ / "mapped", "/data", read_only});
    PluginOptions o = options();
    o.wasi = true;
    return create(manifest, o);
  }

  std::string host_file(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  fs::path root_;
};

TEST_P(OwnWasiPluginTest, ReadsFilesBeneathTheMappedDirectory) {
  Plugin plugin = files(false);
  EXPECT_EQ(plugin.call("read", "/data/a.txt").value(), "inside");
  EXPECT_EQ(plugin.call("read", "/data/sub/../a.txt").value(), "inside");
  EXPECT_EQ(error_of(plugin.call("read", "/data/missing.txt")),
            "/data/missing.txt: No such file or directory");
}

TEST_P(OwnWasiPluginTest, DotDotAbsolutePathsAndSymlinksCannotLeaveIt) {
  Plugin plugin = files(false);
  EXPECT_EQ(error_of(plugin.call("read", "/data/../secret.txt")),
            "/data/../secret.txt: Capabilities insufficient");
  EXPECT_EQ(error_of(plugin.call("read", "/data/link.txt")),
            "/data/link.txt: Capabilities insufficient");
  const std::string outside = (root_ / "secret.txt").string();
  // wasi-libc refuses an absolute path beneath no preopen itself.
  EXPECT_EQ(error_of(plugin.call("read", outside)), outside + ": Capabilities insufficient");
  // The same paths sent to the host as they are, relative to the preopen.
  EXPECT_EQ(plugin.call("open_raw", "a.txt").value(), "opened");
  EXPECT_EQ(plugin.call("open_raw", "../secret.txt").value(), "errno=76");  // ENOTCAPABLE
  EXPECT_EQ(plugin.call("open_raw", outside).value(), "errno=76");
  // open_raw passes no LOOKUPFLAGS_SYMLINK_FOLLOW: a last symlink is ELOOP, as on wasi-common.
  EXPECT_EQ(plugin.call("open_raw", "link.txt").value(), "errno=32");
  EXPECT_TRUE(plugin.healthy());
}

TEST_P(OwnWasiPluginTest, WritesLandInTheMappedDirectoryUnlessItIsReadOnly) {
  Plugin writable = files(false);
  EXPECT_EQ(writable.call("write", "/data/out.txt\nwritten by the plugin").value(), "written");
  EXPECT_EQ(host_file(root_ / "mapped" / "out.txt"), "written by the plugin");
  EXPECT_EQ(error_of(writable.call("write", "/data/../escaped.txt\nx")),
            "/data/../escaped.txt: Capabilities insufficient");
  EXPECT_FALSE(fs::exists(root_ / "escaped.txt"));

  Plugin read_only = files(true);
  EXPECT_EQ(error_of(read_only.call("write", "/data/a.txt\nreplaced")),
            "/data/a.txt: Not supported");
  EXPECT_EQ(host_file(root_ / "mapped" / "a.txt"), "inside");
  EXPECT_EQ(read_only.call("read", "/data/a.txt").value(), "inside");
}

TEST_P(OwnWasiPluginTest, StdoutAndStderrOfACallAreCaptured) {
  Plugin plugin = files(false);
  EXPECT_EQ(plugin.call("print", "first").value(), "");
  EXPECT_EQ(plugin.last_stdout(), "first");
  EXPECT_EQ(plugin.last_stderr(), "err:first");
  ASSERT_TRUE(plugin.call("print", "second"));
  EXPECT_EQ(plugin.last_stdout(), "second");
}

auto engine_name = [](const auto& info) { return std::string(info.param); };
INSTANTIATE_TEST_SUITE_P(Engines, OwnPluginsTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);
INSTANTIATE_TEST_SUITE_P(Engines, OwnWasiPluginTest,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()), engine_name);

}  // namespace
}  // namespace warmpool::extism
