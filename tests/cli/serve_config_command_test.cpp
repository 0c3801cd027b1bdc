// `warmpool serve --config` and `--check` as a user runs them: several
// plugins of both kinds behind one server, their routes, GET /plugins and
// per-plugin metrics.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_paths.hpp"
#include "http_client.hpp"
#include "metrics_probe.hpp"
#include "serve_process.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kVowels =
    std::filesystem::path(WARMPOOL_EXTISM_SHARED_DIR) / "plugins" / "code.wasm";

class ServeConfigCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("warmpool-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    // Relative sources resolve against the config's folder.
    std::filesystem::copy_file(plugin("echo.wasm"), dir_ / "echo.wasm");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_config(const std::string& text) {
    const auto file = dir_ / "warmpool.toml";
    std::ofstream(file) << text;
    return file.string();
  }

  std::filesystem::path dir_;
};

TEST_F(ServeConfigCommand, ServesEveryPluginOfTheFileOnItsOwnRoute) {
  std::string text =
      "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 2\n\n"
      "[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n"
      "[plugin.pool]\nmax = 2\npolicy = \"reset\"\n\n"
      "[[plugin]]\nname = \"hostile\"\nsource = \"" +
      plugin("hostile.wasm") + "\"\n[plugin.limits]\ntimeout_ms = 200\n";
  const bool extism = std::filesystem::exists(kVowels);
  if (extism) {
    text += "\n[[plugin]]\nname = \"vowels\"\nsource = \"" + kVowels.string() +
            "\"\n[plugin.pool]\npolicy = \"reset\"\n[plugin.config]\nvowels = \"aeiouy\"\n";
  }
  ChildProcess child({warmpool_bin(), "serve", "--config", write_config(text)});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  HttpClient c(port);

  auto echo = c.request("POST", "/plugins/echo/echo", "hello");
  ASSERT_TRUE(echo.has_value()) << echo.error();
  EXPECT_EQ(echo->status, 200u);
  EXPECT_EQ(echo->body, "hello");
  auto spin = c.request("POST", "/plugins/hostile/spin", "x");
  EXPECT_EQ(spin->status, 504u) << spin->body;
  if (extism) {
    for (int i = 0; i < 3; ++i) {  // Reset: the running total starts again every call
      auto vowels = c.request("POST", "/plugins/vowels/count_vowels", "hello world yay");
      ASSERT_TRUE(vowels.has_value()) << vowels.error();
      EXPECT_EQ(vowels->status, 200u) << vowels->body;
      auto json = nlohmann::json::parse(vowels->body);
      EXPECT_EQ(json["count"], 6) << vowels->body;
      EXPECT_EQ(json["total"], 6) << vowels->body;
    }
    auto missing = c.request("POST", "/plugins/vowels/nope", "x");
    EXPECT_EQ(missing->status, 404u);
    EXPECT_NE(missing->body.find("Function not found: nope"), std::string::npos);
  }
  auto unknown = c.request("POST", "/plugins/nope/echo", "x");
  EXPECT_EQ(unknown->status, 404u);
  EXPECT_NE(unknown->body.find("no plugin 'nope' (plugins: echo, hostile"), std::string::npos)
      << unknown->body;
  EXPECT_EQ(c.request("POST", "/call/echo", "x")->status, 404u);  // the flags' shortcut only
  EXPECT_EQ(c.request("GET", "/plugins/echo/echo")->status, 405u);

  auto list = c.request("GET", "/plugins");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->headers["content-type"], "application/json");
  auto plugins = nlohmann::json::parse(list->body);
  ASSERT_EQ(plugins.size(), extism ? 3u : 2u);
  EXPECT_EQ(plugins[0]["name"], "echo");
  EXPECT_EQ(plugins[0]["kind"], "bytes");
  EXPECT_EQ(plugins[0]["engine"], WARMPOOL_SERVING_ENGINE);
  EXPECT_EQ(plugins[0]["exports"], nlohmann::json::array({"echo"}));
  EXPECT_EQ(plugins[0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(plugins[0]["pool"]["policy"], "reset");
  EXPECT_EQ(plugins[0]["pool"]["max"], 2);
  if (extism) {
    EXPECT_EQ(plugins[2]["kind"], "extism");
  }

  auto metrics = c.request("GET", "/metrics");
  ASSERT_TRUE(metrics.has_value());
  // One family, several pools: HELP and TYPE once.
  const std::string type_line = "# TYPE warmpool_hits_total counter\n";
  const auto first = metrics->body.find(type_line);
  EXPECT_NE(first, std::string::npos);
  EXPECT_EQ(metrics->body.find(type_line, first + 1), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("warmpool_hits_total{pool=\"echo\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("warmpool_discarded_total{pool=\"hostile\"} 1"), std::string::npos)
      << metrics->body;
  if (extism) {
    EXPECT_NE(metrics->body.find("warmpool_live{pool=\"vowels\"}"), std::string::npos);
  }
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(20s), 0) << child.stderr_text();
}

// Each plugin has its own call threads and queue: one that spins on all of
// its threads does not delay another's calls.
TEST_F(ServeConfigCommand, ASpinningPluginDoesNotHoldUpAnother) {
  const std::string text =
      // One server thread: with a queue shared by all plugins, the spinning
      // call would hold it and echo would wait.
      "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 1\n\n"
      "[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n[plugin.pool]\nmax = 1\n\n"
      "[[plugin]]\nname = \"spin\"\nsource = \"" +
      plugin("spin.wasm") +
      "\"\n[plugin.pool]\nmax = 1\nqueue = 0\n[plugin.limits]\ntimeout_ms = 20000\n";
  ChildProcess child(
      {warmpool_bin(), "serve", "--config", write_config(text), "--drain-timeout-ms", "100"});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  std::jthread spinner([port] {
    HttpClient c(port, 60s);
    (void)c.request("POST", "/plugins/spin/spin_bytes", "x");
  });
  HttpClient c(port);
  ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"spin\"}", 1, 20s));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    auto echo = c.request("POST", "/plugins/echo/echo", "still here");
    ASSERT_TRUE(echo.has_value()) << echo.error();
    EXPECT_EQ(echo->status, 200u) << echo->body;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  auto refused = c.request("POST", "/plugins/spin/spin_bytes", "x");  // its own queue is full
  EXPECT_EQ(refused->status, 503u);
  EXPECT_NE(refused->body.find("every call thread of 'spin' is busy"), std::string::npos)
      << refused->body;
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0) << child.stderr_text();
}

TEST_F(ServeConfigCommand, CheckValidatesWithoutServing) {
  const std::string good = write_config("[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n");
  auto ok = run_process({warmpool_bin(), "serve", "--check", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("1 plugin ok"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("\"name\":\"echo\""), std::string::npos) << ok.out;

  const std::string bad_key =
      write_config("[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n[plugin.pool]\nmax = 0\n");
  auto key = run_process({warmpool_bin(), "serve", "--check", bad_key});
  EXPECT_EQ(key.exit_code, 2);
  EXPECT_NE(key.err.find("warmpool.toml:5:7: plugin[0].pool.max: expected an integer from 1"),
            std::string::npos)
      << key.err;

  std::ofstream(dir_ / "broken.wasm") << "not wasm";
  const std::string bad_plugin = write_config(
      "[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n"
      "[[plugin]]\nname = \"broken\"\nsource = \"broken.wasm\"\n");
  auto plugin_error = run_process({warmpool_bin(), "serve", "--check", bad_plugin});
  EXPECT_EQ(plugin_error.exit_code, 2);
  EXPECT_NE(plugin_error.err.find("plugin 'broken': "), std::string::npos) << plugin_error.err;
  EXPECT_NE(plugin_error.err.find("neither a WebAssembly binary"), std::string::npos)
      << plugin_error.err;
}

TEST_F(ServeConfigCommand, PluginFlagsAndAPluginArgumentAreRefusedWithAConfig) {
  const std::string file = write_config("[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n");
  auto with_plugin = run_process({warmpool_bin(), "serve", "--config", file, plugin("echo.wasm")});
  EXPECT_EQ(with_plugin.exit_code, 2);
  EXPECT_NE(with_plugin.err.find("no PLUGIN with --config"), std::string::npos) << with_plugin.err;
  auto with_engine = run_process({warmpool_bin(), "serve", "--config", file, "--policy", "reset"});
  EXPECT_EQ(with_engine.exit_code, 2);
  EXPECT_NE(with_engine.err.find("--policy is a plugin's setting"), std::string::npos)
      << with_engine.err;
}

// The flags' one plugin is also reachable by its name.
TEST(ServeFlags, TheOnePluginAnswersOnBothRoutes) {
  ChildProcess child(
      {warmpool_bin(), "serve", "--listen", "127.0.0.1:0", plugin("echo.wasm"), "--threads", "1"});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  HttpClient c(port);
  EXPECT_EQ(c.request("POST", "/call/echo", "a")->body, "a");
  EXPECT_EQ(c.request("POST", "/plugins/echo/echo", "b")->body, "b");
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(20s), 0) << child.stderr_text();
}

}  // namespace
}  // namespace warmpool::cli::test
