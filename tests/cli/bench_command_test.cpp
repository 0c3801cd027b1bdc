// `warmpool bench`: a short run on the embedded plugin and on files, checked
// through its --json output, --report file and exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_paths.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {
namespace {

namespace pt = boost::property_tree;

ProcessResult warmpool(std::vector<std::string> args) {
  args.insert(args.begin(), warmpool_bin());
  return run_process(args);
}

// Values are read as text: property_tree's numeric translators trip GCC 12's
// -Wmaybe-uninitialized under the sanitizer builds.
double num(const pt::ptree& tree, const std::string& path) {
  return std::stod(tree.get<std::string>(path));
}
bool flag(const pt::ptree& tree, const std::string& path) {
  return tree.get<std::string>(path) == "true";
}

pt::ptree parse_json(const std::string& text) {
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_json(in, tree);
  return tree;
}

TEST(BenchCommand, EmbeddedPluginJson) {
  auto r = warmpool({"bench", "--calls", "200", "--threads", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "no progress bar when stderr is not a terminal";
  pt::ptree j = parse_json(r.out);
  EXPECT_EQ(j.get<std::string>("plugin"), "markdown.wasm (embedded)");
  EXPECT_EQ(j.get<std::string>("export"), "render");
  EXPECT_EQ(j.get<std::string>("loop"), "closed");
  EXPECT_EQ(j.get<std::string>("policy"), "reuse");
  std::vector<pt::ptree> modes;
  for (const auto& [_, m] : j.get_child("modes")) modes.push_back(m);
  ASSERT_EQ(modes.size(), 2u);
  EXPECT_TRUE(flag(modes[0], "pooled"));
  EXPECT_FALSE(flag(modes[1], "pooled"));
  for (const auto& m : modes) {
    EXPECT_EQ(num(m, "calls"), 200);
    EXPECT_EQ(num(m, "failed"), 0);
    EXPECT_GT(num(m, "calls_per_s"), 0);
    double p50 = num(m, "latency_us.p50"), p90 = num(m, "latency_us.p90"),
           p99 = num(m, "latency_us.p99"), p999 = num(m, "latency_us.p99_9"),
           max = num(m, "latency_us.max");
    EXPECT_GT(p50, 0);
    EXPECT_LE(p50, p90);
    EXPECT_LE(p90, p99);
    EXPECT_LE(p99, p999);
    EXPECT_LE(p999, max);
  }
  // Every pooled call acquired once: from an idle instance or by building one.
  EXPECT_EQ(num(modes[0], "hits") + num(modes[0], "misses"), 200);
  EXPECT_EQ(num(modes[0], "exhausted"), 0);
  EXPECT_GT(num(j, "speedup.calls_per_s"), 0);
}

TEST(BenchCommand, TableAndSvgReport) {
  auto svg = std::filesystem::temp_directory_path() /
             ("warmpool-bench-" + std::to_string(::getpid()) + ".svg");
  auto r = warmpool({"bench", "--calls", "100", "--policy", "reset", "--report", svg.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pool (reset)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no pool"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99.9"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("speed-up with the pool"), std::string::npos) << r.out;
  std::ifstream in(svg);
  std::string text{std::istreambuf_iterator<char>(in), {}};
  EXPECT_TRUE(text.starts_with("<?xml")) << text.substr(0, 100);
  EXPECT_NE(text.find(">pool (reset)</text>"), std::string::npos);
  EXPECT_NE(text.find("<polyline"), std::string::npos);
  std::filesystem::remove(svg);
}

TEST(BenchCommand, NumericExportOpenLoop) {
  auto r = warmpool({"bench", plugin("fib.wasm"), "10", "--export", "fib", "--calls", "60",
                     "--rate", "300", "--policy", "fresh", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pt::ptree j = parse_json(r.out);
  EXPECT_EQ(j.get<std::string>("loop"), "open");
  for (const auto& [_, m] : j.get_child("modes")) {
    EXPECT_EQ(num(m, "calls"), 60);
    // 60 arrivals at 300/s take at least 197 ms.
    EXPECT_GE(num(m, "seconds"), 0.19);
  }
}

TEST(BenchCommand, ErrorsAndExitCodes) {
  auto both = warmpool({"bench", "--calls", "10", "--duration", "1"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--calls and --duration exclude each other"), std::string::npos);

  auto warm = warmpool({"bench", "--warm", "5", "--max", "2"});
  EXPECT_EQ(warm.exit_code, 2);
  EXPECT_NE(warm.err.find("--warm 5 is more than --max 2"), std::string::npos) << warm.err;

  auto ambiguous = warmpool({"bench", plugin("hostile.wasm"), "--calls", "5"});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("name one with --export"), std::string::npos) << ambiguous.err;

  auto trap = warmpool({"bench", plugin("trap.wasm"), "--export", "trap_bytes", "--calls", "5"});
  EXPECT_EQ(trap.exit_code, 1);
  EXPECT_NE(trap.err.find("trap"), std::string::npos) << trap.err;
}

TEST(BenchCommand, BadFilesExitTwoBeforeTheBenchmarkRuns) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--input", dir}, "warmpool bench: --input: cannot read '" + dir + "': is a directory"},
      {{dir}, "warmpool bench: PLUGIN: cannot read '" + dir + "': is a directory"},
      {{"--report", "/nonexistent/dir/latency.svg"},
       "warmpool bench: --report: cannot write '/nonexistent/dir/latency.svg': directory "
       "'/nonexistent/dir': No such file or directory"},
      {{"--report", dir}, "warmpool bench: --report: cannot write '" + dir + "': is a directory"},
      {{"--report", plugin("fib.wasm") + "/latency.svg"}, "Not a directory"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"bench", "--duration", "60"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto start = std::chrono::steady_clock::now();
    auto r = warmpool(args);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "want: " << c.message << "\ngot: " << r.err;
    EXPECT_EQ(r.out, "") << "no table: the benchmark must not have run";
    EXPECT_LT(elapsed, std::chrono::seconds(20)) << "a 2 x 60 s benchmark ran first";
  }
}

TEST(BenchCommand, ContradictoryFlagsNameBoth) {
  auto r = warmpool({"bench", "--duration=1", "--calls=5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("warmpool bench: --calls and --duration exclude each other"),
            std::string::npos)
      << r.err;

  auto threads = warmpool({"bench", "--threads", "x"});
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_NE(
      threads.err.find("warmpool bench: --threads: expected an integer from 1 to 256, got 'x'"),
      std::string::npos)
      << threads.err;
}

TEST(BenchCommand, JsonFieldsKeepTheirOrder) {
  auto r = warmpool({"bench", "--calls", "20", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t at = 0;
  for (const char* key :
       {"\"plugin\":",     "\"export\":",     "\"engine\":", "\"threads\":", "\"loop\":",
        "\"policy\":",     "\"warm\":",       "\"max\":",    "\"modes\":",   "\"mode\":",
        "\"pooled\":",     "\"calls\":",      "\"failed\":", "\"seconds\":", "\"calls_per_s\":",
        "\"latency_us\":", "\"p50\":",        "\"p99_9\":",  "\"mean\":",    "\"hits\":",
        "\"speedup\":",    "\"p50_latency\":"}) {
    auto next = r.out.find(key, at);
    ASSERT_NE(next, std::string::npos) << key << " after offset " << at << " in " << r.out;
    at = next;
  }
  EXPECT_TRUE(r.out.ends_with("}\n")) << r.out;
}

// An unmodified Extism plugin (here the repo's own kernel tour, built with the
// project) is benchmarked like a bytes-ABI plugin, given as a .wasm or through
// a manifest, under each isolation policy.
TEST(BenchCommand, ExtismPluginsAsWasmOrManifestUnderEveryPolicy) {
  const std::string tour = plugin("extism_kernel_tour.wasm");
  const auto manifest = std::filesystem::temp_directory_path() /
                        ("warmpool_bench_extism_" + std::to_string(::getpid()) + ".json");
  std::ofstream(manifest) << R"({"wasm": [{"path": ")" << tour << R"("}]})";
  struct Case {
    std::string source, policy;
  };
  for (const Case& c :
       {Case{tour, "reuse"}, Case{tour, "reset"}, Case{manifest.string(), "fresh"}}) {
    auto r = warmpool(
        {"bench", c.source, "--export", "echo", "--calls", "200", "--policy", c.policy, "--json"});
    ASSERT_EQ(r.exit_code, 0) << c.source << " " << c.policy << ": " << r.err;
    pt::ptree j = parse_json(r.out);
    EXPECT_EQ(j.get<std::string>("plugin"), std::filesystem::path(c.source).filename().string());
    EXPECT_EQ(j.get<std::string>("export"), "echo");
    EXPECT_EQ(j.get<std::string>("policy"), c.policy);
    for (const auto& [_, m] : j.get_child("modes")) {
      EXPECT_EQ(num(m, "calls"), 200) << c.policy;
      EXPECT_EQ(num(m, "failed"), 0) << c.policy;
    }
    const pt::ptree& pooled = j.get_child("modes").front().second;
    EXPECT_EQ(num(pooled, "hits") + num(pooled, "misses"), 200) << c.policy;
  }
  std::filesystem::remove(manifest);
}

TEST(BenchCommand, ExtismPluginUsageErrorsExitTwo) {
  const std::string tour = plugin("extism_kernel_tour.wasm");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"bench", tour, "--calls", "5"}, "name one with --export"},
      {{"bench", tour, "--export", "nope", "--calls", "5"}, "Function not found: nope"},
      {{"bench", tour, "1", "--export", "echo", "--calls", "5"}, "not ARGS"},
      {{"bench", tour, "--export", "echo", "--fuel", "1000", "--calls", "5"},
       "--fuel does not apply to Extism plugins"},
  };
  for (const auto& c : cases) {
    auto r = warmpool(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "want: " << c.message << "\ngot: " << r.err;
  }
}

}  // namespace
}  // namespace warmpool::cli::test
