// `warmpool serve`'s hot reload as an operator uses it: POST /admin/reload on
// the admin listener, SIGHUP, and [server] watch, with calls running. The
// plugin is a tiny bytes plugin written by the test whose output names its
// version, so every response says which version answered it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "cli_paths.hpp"
#include "http_client.hpp"
#include "metrics_probe.hpp"
#include "serve_process.hpp"
#include "subprocess.hpp"

namespace warmpool::cli::test {
namespace {

using namespace std::chrono_literals;

// A bytes plugin whose exports answer `text`, whatever they are sent (the
// output is static data: the plugin exports no wp_free): `version` at once,
// `slow` after counting down from the little-endian u32 it is sent.
std::string version_plugin(const std::string& text) {
  const std::string output = "(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const " +
                             std::to_string(text.size()) + "))";
  return "(module\n"
         "  (memory (export \"memory\") 1)\n"
         "  (data (i32.const 16) \"" +
         text +
         "\")\n"
         "  (func (export \"wp_alloc\") (param i32) (result i32) (i32.const 1024))\n"
         "  (func (export \"version\") (param i32 i32) (result i64) " +
         output +
         ")\n"
         "  (func (export \"slow\") (param $ptr i32) (param $len i32) (result i64)\n"
         "    (local $n i32)\n"
         "    (local.set $n (i32.load (local.get $ptr)))\n"
         "    (block $done (loop $count\n"
         "      (br_if $done (i32.eqz (local.get $n)))\n"
         "      (local.set $n (i32.sub (local.get $n) (i32.const 1)))\n"
         "      (br $count)))\n"
         "    " +
         output + "))\n";
}

std::string little_endian(std::uint32_t n) {
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return bytes;
}

// The admin port from the second stdout line ("admin listening on ...").
std::uint16_t admin_port(ChildProcess& child) {
  auto line = child.read_stdout_line(60s);
  const std::string marker = "admin listening on http://127.0.0.1:";
  const auto at = line ? line->find(marker) : std::string::npos;
  return at == std::string::npos
             ? 0
             : static_cast<std::uint16_t>(std::stoi(line->substr(at + marker.size())));
}

class ServeReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("warmpool-reload-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(plugin("echo.wasm"), dir_ / "echo.wasm");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Written aside and renamed over the old file, as a deploy does: the
  // server never reads half a file.
  void write_file(const std::string& name, const std::string& text) {
    const auto aside = dir_ / (name + ".tmp");
    std::ofstream(aside) << text;
    std::filesystem::rename(aside, dir_ / name);
  }
  void write_version(const std::string& text) { write_file("plugin.wat", version_plugin(text)); }

  std::string config(const std::string& plugins, const std::string& server_extra = "") {
    write_file("warmpool.toml",
               "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 2\n"
               "admin_listen = \"127.0.0.1:0\"\n" +
                   server_extra + "\n" + plugins);
    return (dir_ / "warmpool.toml").string();
  }
  void twenty_reloads_under_load(const std::string& server_extra);
  static std::string versioned_plugin() {
    return "[[plugin]]\nname = \"v\"\nsource = \"plugin.wat\"\n[plugin.pool]\nmax = 2\n";
  }

  std::filesystem::path dir_;
};

nlohmann::json reload(std::uint16_t admin, unsigned expected_status) {
  HttpClient c(admin, 60s);
  auto r = c.request("POST", "/admin/reload");
  if (!r) {
    ADD_FAILURE() << r.error();
    return {};
  }
  EXPECT_EQ(r->status, expected_status) << r->body;
  EXPECT_EQ(r->headers["content-type"], "application/json");
  return nlohmann::json::parse(r->body);
}

std::string version_answer(HttpClient& c) {
  auto r = c.request("POST", "/plugins/v/version", "x");
  if (!r) return "error: " + r.error();
  return r->status == 200 ? r->body : std::to_string(r->status) + " " + r->body;
}

TEST_F(ServeReload, TwentyReloadsUnderLoadFailNoRequestAndFreeEveryOldVersion) {
  twenty_reloads_under_load("");
}

// The same with calls run on the I/O loop (--inline-calls).
TEST_F(ServeReload, TwentyReloadsUnderLoadWithInlineCalls) {
  twenty_reloads_under_load("inline_calls = true\n");
}

void ServeReload::twenty_reloads_under_load(const std::string& server_extra) {
  write_version("version-1");
  ChildProcess child(
      {warmpool_bin(), "serve", "--config", config(versioned_plugin(), server_extra)});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  const std::uint16_t admin = admin_port(child);
  ASSERT_NE(admin, 0) << child.stderr_text();
  const double accepted_before =
      metric(metrics_of(port), "warmpool_http_connections_accepted_total");

  constexpr int kClients = 3;
  constexpr int kMostCallsPerClient = 20'000;  // bounds the load if the reloads stall
  std::atomic<bool> stop{false};
  std::atomic<int> answered_by[2] = {0, 0};  // version-1, version-2
  std::mutex wrong_mutex;
  std::vector<std::string> wrong;
  std::vector<std::jthread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      HttpClient c(port);
      for (int n = 0; n < kMostCallsPerClient && !stop; ++n) {
        const std::string answer = version_answer(c);
        if (answer == "version-1" || answer == "version-2") {
          ++answered_by[answer == "version-1" ? 0 : 1];
        } else {
          std::lock_guard lock(wrong_mutex);
          wrong.push_back(answer);
        }
      }
    });
  }
  // And an operator watching: GET /plugins and /metrics read the table a
  // reload replaces.
  clients.emplace_back([&] {
    HttpClient c(port);
    for (int n = 0; n < kMostCallsPerClient && !stop; ++n) {
      auto r = c.request("GET", n % 2 == 0 ? "/plugins" : "/metrics");
      if (!r || r->status != 200) {
        std::lock_guard lock(wrong_mutex);
        wrong.push_back(r ? r->body : r.error());
      }
    }
  });
  // Each reload happens while calls run: it waits for a few more answers first.
  auto calls_run = [&] {
    const int before = answered_by[0] + answered_by[1];
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         answered_by[0] + answered_by[1] < before + kClients &&
         std::chrono::steady_clock::now() < deadline;) {
      std::this_thread::sleep_for(1ms);
    }
  };

  HttpClient c(port);
  for (int i = 0; i < 20; ++i) {
    const std::string next = i % 2 == 0 ? "version-2" : "version-1";
    calls_run();
    write_version(next);
    auto report = reload(admin, 200);
    ASSERT_EQ(report["status"], "ok") << report.dump();
    ASSERT_EQ(report["plugins"].size(), 1u) << report.dump();
    EXPECT_EQ(report["plugins"][0]["result"], "reloaded") << report.dump();
    // Swapped before the answer: every request from now on gets the new version.
    EXPECT_EQ(version_answer(c), next);
  }
  stop = true;
  clients.clear();

  // No connection was closed by a reload: the clients and this test kept
  // theirs, and the only other one is this metrics probe.
  const double accepted_after =
      metric(metrics_of(port), "warmpool_http_connections_accepted_total");
  EXPECT_EQ(accepted_after - accepted_before, kClients + 1 /* watcher */ + 1 /* c */ + 1);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong answers, the first: " << wrong.front();
  // Both versions served the load.
  EXPECT_GT(answered_by[0], 0);
  EXPECT_GT(answered_by[1], 0);
  // Every old version (its pool, call threads and queue) is destroyed once
  // its calls returned; only the one serving is left.
  EXPECT_TRUE(wait_for_metric(port, "warmpool_plugin_versions{plugin=\"v\"}", 1));
  const std::string metrics = metrics_of(port);
  EXPECT_EQ(metric(metrics, "warmpool_reloads_total{result=\"ok\"}"), 20) << metrics;
  EXPECT_EQ(metric(metrics, "warmpool_reload_failures_total{plugin=\"v\"}"), 0);
  EXPECT_EQ(metric(metrics, "warmpool_call_threads{pool=\"v\"}"), 2);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0) << child.stderr_text();
}

TEST_F(ServeReload, ACallInFlightFinishesOnTheOldVersionWhichIsThenDestroyed) {
  write_version("version-1");
  ChildProcess child({warmpool_bin(), "serve", "--config",
                      config(versioned_plugin() + "[plugin.limits]\ntimeout_ms = 120000\n")});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  const std::uint16_t admin = admin_port(child);
  HttpClient c(port);
  // Calibrated on this machine (sanitizers are slow): a call of about 2 s.
  constexpr std::uint32_t kProbe = 1'000'000;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(c.request("POST", "/plugins/v/slow", little_endian(kProbe))->body, "version-1");
  const double probe_seconds = std::max(
      1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  const auto count = static_cast<std::uint32_t>(std::min(4e9, kProbe * 2.0 / probe_seconds));

  // A call thread counts as busy until just after its answer was sent.
  ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"v\"}", 0));
  std::string slow_answer;
  std::atomic<bool> slow_done{false};
  std::jthread slow([&] {
    HttpClient slow_client(port, 120s);
    auto r = slow_client.request("POST", "/plugins/v/slow", little_endian(count));
    slow_answer = r ? r->body : r.error();
    slow_done = true;
  });
  ASSERT_TRUE(wait_for_metric(port, "warmpool_call_threads_busy{pool=\"v\"}", 1));
  write_version("version-2");
  EXPECT_EQ(reload(admin, 200)["plugins"][0]["result"], "reloaded");
  EXPECT_EQ(version_answer(c), "version-2");
  ASSERT_FALSE(slow_done) << "the slow call ended before the reload; it should take ~2 s";
  // The old version lives on for its call.
  EXPECT_EQ(metric(metrics_of(port), "warmpool_plugin_versions{plugin=\"v\"}"), 2);
  slow.join();
  EXPECT_EQ(slow_answer, "version-1");
  EXPECT_TRUE(wait_for_metric(port, "warmpool_plugin_versions{plugin=\"v\"}", 1));
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0);
}

TEST_F(ServeReload, AFailedReloadKeepsTheOldVersionServingAndReportsIt) {
  write_version("version-1");
  const std::string file = config(versioned_plugin());
  ChildProcess child({warmpool_bin(), "serve", "--config", file});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  const std::uint16_t admin = admin_port(child);
  HttpClient c(port);

  write_file("plugin.wat", "(module (func");
  auto report = reload(admin, 422);
  EXPECT_EQ(report["status"], "failed");
  ASSERT_EQ(report["plugins"].size(), 1u) << report.dump();
  EXPECT_EQ(report["plugins"][0]["result"], "failed");
  EXPECT_NE(report["plugins"][0]["message"].get<std::string>().find("still serving"),
            std::string::npos)
      << report.dump();
  EXPECT_EQ(version_answer(c), "version-1");

  auto list = nlohmann::json::parse(c.request("GET", "/plugins")->body);
  EXPECT_EQ(list[0]["last_reload"]["result"], "failed") << list.dump();
  EXPECT_FALSE(list[0]["last_reload"]["error"].get<std::string>().empty());
  std::string metrics = metrics_of(port);
  EXPECT_EQ(metric(metrics, "warmpool_reload_failures_total{plugin=\"v\"}"), 1) << metrics;
  EXPECT_EQ(metric(metrics, "warmpool_reloads_total{result=\"failed\"}"), 1);

  // A config that does not parse changes nothing, and says where it is wrong.
  write_version("version-2");
  write_file("warmpool.toml", "[server]\nthreads = \"two\"\n");
  report = reload(admin, 422);
  EXPECT_NE(report["error"].get<std::string>().find("warmpool.toml:2:11: server.threads"),
            std::string::npos)
      << report.dump();
  EXPECT_EQ(version_answer(c), "version-1");

  // Fixed: the new version goes live; a server key that needs a restart is
  // reported, not applied.
  config(versioned_plugin(), "io_threads = 2\n");
  report = reload(admin, 200);
  EXPECT_EQ(report["plugins"][0]["result"], "reloaded") << report.dump();
  EXPECT_EQ(report["ignored_until_restart"], nlohmann::json::array({"io_threads"}));
  EXPECT_EQ(version_answer(c), "version-2");
  list = nlohmann::json::parse(c.request("GET", "/plugins")->body);
  EXPECT_EQ(list[0]["last_reload"]["result"], "reloaded") << list.dump();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0);
  EXPECT_NE(child.stderr_text().find("reload (POST /admin/reload): plugin 'v': "),
            std::string::npos)
      << child.stderr_text();
  EXPECT_NE(child.stderr_text().find("[server] io_threads changed; ignored until restart"),
            std::string::npos);
}

TEST_F(ServeReload, AddedPluginsAppearAndRemovedOnesAnswer404) {
  write_version("version-1");
  ChildProcess child({warmpool_bin(), "serve", "--config", config(versioned_plugin())});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  const std::uint16_t admin = admin_port(child);
  HttpClient c(port);
  EXPECT_EQ(c.request("POST", "/plugins/echo/echo", "hi")->status, 404u);

  const std::string echo = "[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n";
  config(versioned_plugin() + echo);
  auto report = reload(admin, 200);
  ASSERT_EQ(report["plugins"].size(), 2u) << report.dump();
  EXPECT_EQ(report["plugins"][0]["result"], "kept");
  EXPECT_EQ(report["plugins"][1]["result"], "added");
  EXPECT_EQ(c.request("POST", "/plugins/echo/echo", "hi")->body, "hi");

  config(echo);
  report = reload(admin, 200);
  EXPECT_EQ(report["plugins"][0]["result"], "kept") << report.dump();
  EXPECT_EQ(report["plugins"][1]["name"], "v");
  EXPECT_EQ(report["plugins"][1]["result"], "removed");
  auto gone = c.request("POST", "/plugins/v/version", "x");
  EXPECT_EQ(gone->status, 404u);
  EXPECT_NE(gone->body.find("no plugin 'v' (plugins: echo)"), std::string::npos) << gone->body;
  EXPECT_TRUE(wait_for_metric(port, "warmpool_plugin_versions{plugin=\"v\"}", 0));
  EXPECT_EQ(nlohmann::json::parse(c.request("GET", "/plugins")->body).size(), 1u);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0);
}

TEST_F(ServeReload, ConcurrentReloadRequestsRunOneAtATime) {
  write_version("version-1");
  ChildProcess child({warmpool_bin(), "serve", "--config", config(versioned_plugin())});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  const std::uint16_t admin = admin_port(child);
  write_version("version-2");
  constexpr int kRequests = 6;
  std::vector<nlohmann::json> reports(kRequests);
  {
    std::vector<std::jthread> admins;
    for (int i = 0; i < kRequests; ++i) {
      admins.emplace_back([&, i] { reports[i] = reload(admin, 200); });
    }
  }
  for (const auto& report : reports) {
    const std::string result = report["plugins"][0]["result"];
    EXPECT_TRUE(result == "reloaded" || result == "kept") << report.dump();
  }
  const double reloads = metric(metrics_of(port), "warmpool_reloads_total{result=\"ok\"}");
  EXPECT_GE(reloads, 1);
  EXPECT_LE(reloads, kRequests);
  EXPECT_TRUE(wait_for_metric(port, "warmpool_plugin_versions{plugin=\"v\"}", 1));
  HttpClient c(port);
  EXPECT_EQ(version_answer(c), "version-2");
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0);
  // One at a time: the first reload loaded version-2, every later one kept
  // it (requests that waited together shared one reload and its answer).
  const std::string& log = child.stderr_text();
  int reloads_that_loaded = 0;
  for (auto at = log.find(": 1 reloaded"); at != std::string::npos;
       at = log.find(": 1 reloaded", at + 1)) {
    ++reloads_that_loaded;
  }
  EXPECT_EQ(reloads_that_loaded, 1) << log;
}

TEST_F(ServeReload, AdminRoutesAreServedOnTheAdminListenerOnly) {
  write_version("version-1");
  ChildProcess child({warmpool_bin(), "serve", "--config", config(versioned_plugin())});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  const std::uint16_t admin = admin_port(child);
  HttpClient public_side(port);
  EXPECT_EQ(public_side.request("POST", "/admin/reload")->status, 404u);
  HttpClient admin_side(admin);
  EXPECT_EQ(admin_side.request("POST", "/plugins/v/version", "x")->status, 404u);
  EXPECT_EQ(admin_side.request("GET", "/metrics")->status, 404u);
  EXPECT_EQ(admin_side.request("GET", "/admin/reload")->status, 405u);
  EXPECT_EQ(metric(metrics_of(port), "warmpool_reloads_total{result=\"ok\"}"), 0);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0);
}

// The flags' single plugin: SIGHUP re-reads PLUGIN.
TEST_F(ServeReload, SighupReloadsAChangedPlugin) {
  write_version("version-1");
  ServeProcess server({(dir_ / "plugin.wat").string(), "--max", "2"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  HttpClient c(server.port());
  EXPECT_EQ(c.request("POST", "/call/version", "x")->body, "version-1");

  server.child().signal(SIGHUP);  // unchanged: kept
  ASSERT_TRUE(wait_for_metric(server.port(), "warmpool_reloads_total{result=\"ok\"}", 1))
      << metrics_of(server.port()) << server.child().stderr_text();
  write_version("version-2");
  server.child().signal(SIGHUP);
  ASSERT_TRUE(wait_for_metric(server.port(), "warmpool_reloads_total{result=\"ok\"}", 2));
  EXPECT_EQ(c.request("POST", "/call/version", "x")->body, "version-2");
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(30s), 0);
  const std::string& log = server.child().stderr_text();
  EXPECT_NE(log.find("reload (SIGHUP): 1 kept"), std::string::npos) << log;
  EXPECT_NE(log.find("reload (SIGHUP): 1 reloaded"), std::string::npos) << log;
}

TEST_F(ServeReload, WatchReloadsWhenAWatchedFileChanges) {
  write_version("version-1");
  ChildProcess child(
      {warmpool_bin(), "serve", "--config", config(versioned_plugin(), "watch = true\n")});
  const std::uint16_t port = listening_port(child);
  ASSERT_NE(port, 0) << child.stderr_text();
  HttpClient c(port);
  EXPECT_EQ(version_answer(c), "version-1");

  write_version("version-2");
  ASSERT_TRUE(wait_for_metric(port, "warmpool_reloads_total{result=\"ok\"}", 1, 20s))
      << child.stderr_text();
  EXPECT_EQ(version_answer(c), "version-2");

  // The config file too: a plugin added to it is served.
  config(versioned_plugin() + "[[plugin]]\nname = \"echo\"\nsource = \"echo.wasm\"\n",
         "watch = true\n");
  ASSERT_TRUE(wait_for_metric(port, "warmpool_reloads_total{result=\"ok\"}", 2, 20s))
      << child.stderr_text();
  EXPECT_EQ(c.request("POST", "/plugins/echo/echo", "hi")->body, "hi");
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(30s), 0);
  EXPECT_NE(child.stderr_text().find("reload (file change): 1 reloaded"), std::string::npos)
      << child.stderr_text();
}

TEST_F(ServeReload, FlagsTurnOnTheAdminListenerAndWatch) {
  write_version("version-1");
  ServeProcess server({(dir_ / "plugin.wat").string(), "--admin-listen", "127.0.0.1:0", "--watch"});
  ASSERT_NE(server.port(), 0) << server.child().stderr_text();
  const std::uint16_t admin = admin_port(server.child());
  ASSERT_NE(admin, 0);
  HttpClient c(server.port());
  EXPECT_EQ(reload(admin, 200)["plugins"][0]["result"], "kept");
  write_version("version-2");
  ASSERT_TRUE(wait_for_metric(server.port(), "warmpool_reloads_total{result=\"ok\"}", 2, 20s));
  EXPECT_EQ(c.request("POST", "/call/version", "x")->body, "version-2");
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait(30s), 0);
}

}  // namespace
}  // namespace warmpool::cli::test
