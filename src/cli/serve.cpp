// `warmpool serve`: plugins over HTTP, each with a pool behind it: one given
// by flags, or many from a config file (--config).
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "diagnostics.hpp"
#include "engine_flags.hpp"
#include "exit_code.hpp"
#include "input_file.hpp"
#include "listen_address.hpp"
#include "options.hpp"
#include "plugin_server.hpp"
#include "pool_flags.hpp"
#include "serve_config.hpp"
#include "served_plugin.hpp"
#include "subcommands.hpp"

namespace warmpool::cli {
namespace {

constexpr auto kServeAcquireTimeout = std::chrono::milliseconds(1000);
constexpr auto kServeCallTimeout = std::chrono::milliseconds(10'000);
constexpr std::size_t kAdminMaxBody = 4096;
constexpr std::size_t kAdminMaxConnections = 16;

std::size_t default_threads() {
  return std::max<std::size_t>(4, 2 * std::thread::hardware_concurrency());
}

CommandHelp serve_help() {
  return {
      .usage =
          "warmpool serve PLUGIN --listen HOST:PORT [options]\n"
          "       warmpool serve --config FILE [options]   |   warmpool serve --check FILE",
      .description =
          "Serves plugins over HTTP/1.1, each with a pool of pre-warmed instances behind it:\n"
          "PLUGIN (a bytes-ABI plugin, docs/plugin-abi.md, or an unmodified Extism plugin,\n"
          "recognised by its extism:host/env imports, or an Extism manifest .json), or every\n"
          "[[plugin]] of a TOML config file (README, \"Serving many plugins\"). A plugin's\n"
          "calls run on call threads of its own, one per pool instance (--max), not on the\n"
          "--io-threads that accept and answer, so /healthz, /metrics and other plugins\n"
          "answer while its calls are busy (with --inline-calls a short call runs on the\n"
          "I/O thread in a call thread's place, and one past 1 ms gets that I/O loop\n"
          "another thread). A request waits in its plugin's queue, in arrival order.\n\n"
          "  POST /plugins/<name>/<export>  request body in, the export's output out (200);\n"
          "                                 <name> and <export> may be percent-encoded\n"
          "  POST /call/<export>            the same for PLUGIN (named after its file)\n"
          "  GET  /plugins                  every plugin: kind, engine, exports, sha256,\n"
          "                                 loaded_at, pool state (JSON)\n"
          "  GET  /metrics                  Prometheus text: each pool (pool=\"<name>\"), HTTP\n"
          "                                 requests and latency by status, connections, queue\n"
          "  GET  /healthz                  200 \"ok\"\n"
          "  POST /admin/reload             on --admin-listen only (never on --listen):\n"
          "                                 reload now; JSON with each plugin's outcome\n"
          "Request headers are not passed to plugins: neither ABI has a place for them.\n\n"
          "Reload (SIGHUP, POST /admin/reload, or a file change with --watch): the config\n"
          "file (or PLUGIN) is read again; a plugin whose settings and source bytes are\n"
          "unchanged keeps running, a changed or added one is compiled and warmed while\n"
          "the old version serves, then all go live at once; calls in flight finish on the\n"
          "old version. A plugin that fails to load keeps its old version (logged, counted\n"
          "in warmpool_reload_failures_total, shown in GET /plugins); removed plugins\n"
          "answer 404. Answer: 200 all live, 422 something failed, 503 shutting down.\n"
          "--listen, --io-threads and the other listener settings need a restart.\n\n"
          "Errors have a JSON body {\"error\": kind, \"message\": text}:\n"
          "  404 not_found                    no such plugin, export or route\n"
          "  400 bad_request                  the export is not a bytes export, the path has\n"
          "                                   a malformed %-escape or %00, the request is not\n"
          "                                   HTTP/1.1, or its Transfer-Encoding is not chunked\n"
          "  413 payload_too_large            body larger than --max-body\n"
          "  500 trap | memory_limit | abi    the plugin failed (its instance is discarded)\n"
          "  500 plugin                       an Extism plugin reported an error\n"
          "  503 resource_limit               no call thread or instance free within\n"
          "                                   --acquire-timeout-ms, or --queue requests\n"
          "                                   already waiting (with Retry-After)\n"
          "  504 fuel_exhausted | deadline |  the call ran out of fuel or time\n"
          "      timeout\n\n"
          "SIGINT/SIGTERM: stop accepting, finish the requests in flight (calls still running\n"
          "after --drain-timeout-ms are interrupted), exit 0. During start-up (compile,\n"
          "warm-up) they stop it before it listens, also with exit 0.\n",
      .footer = std::string(kExitCodesHelp) +
                "\nExamples:\n  # paths as in a checkout built with 'cmake --preset release'\n"
                "  warmpool serve build/release/plugins/markdown.wasm --listen 127.0.0.1:8080\n"
                "  curl --data-binary @README.md http://127.0.0.1:8080/call/render\n"
                "  warmpool serve build/release/plugins/echo.wasm --listen [::1]:8080 --policy "
                "reset \\\n"
                "      --fuel 10000000 --timeout-ms 100 --max-memory-pages 256\n"
                "  curl -s 'http://[::1]:8080/metrics' | grep warmpool_http_requests_total\n"
                "  warmpool serve --check warmpool.toml && warmpool serve --config warmpool.toml\n"
                "  curl --data-binary @README.md http://127.0.0.1:8080/plugins/markdown/render\n"
                "  warmpool serve --config warmpool.toml --admin-listen 127.0.0.1:9901 --watch\n"
                "  curl -X POST http://127.0.0.1:9901/admin/reload\n"};
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocked before anything starts a thread, so every thread started later
// (engine, pool refill) inherits the mask: a SIGINT/SIGTERM during compile
// or warm-up stays pending instead of killing the process with the default
// action. HttpServer::run unblocks them once its handler is installed.
// SIGHUP stays blocked for good: one thread takes it to reload.
void block_signals() {
  sigset_t set = stop_signals();
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool stop_signal_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
}

// The pending SIGINT/SIGTERM, consumed; 0 if none.
int take_stop_signal() {
  sigset_t set = stop_signals();
  const timespec no_wait{};
  const int sig = sigtimedwait(&set, nullptr, &no_wait);
  return sig > 0 ? sig : 0;
}

int stopped_before_listening(int sig) {
  std::cerr << "warmpool serve: stopped by " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << " before listening\n";
  return kExitOk;
}

// Server flags given on the command line win over the config file's [server].
void override_given_server_flags(const CLI::App& app, const ServerSettings& flags,
                                 ServerSettings& config) {
  if (given(app, "--listen")) {
    config.host = flags.host;
    config.port = flags.port;
  }
  if (given(app, "--threads")) config.threads = flags.threads;
  if (given(app, "--io-threads")) config.io_threads = flags.io_threads;
  if (given(app, "--max-connections")) config.max_connections = flags.max_connections;
  if (given(app, "--queue")) config.queue = flags.queue;
  if (given(app, "--header-timeout-ms")) config.header_timeout = flags.header_timeout;
  if (given(app, "--idle-timeout-ms")) config.idle_timeout = flags.idle_timeout;
  if (given(app, "--drain-timeout-ms")) config.drain_timeout = flags.drain_timeout;
  if (given(app, "--max-body")) config.max_body = flags.max_body;
  if (given(app, "--acquire-timeout-ms")) config.acquire_timeout = flags.acquire_timeout;
  if (given(app, "--admin-listen")) config.admin_listen = flags.admin_listen;
  if (given(app, "--watch")) config.watch = flags.watch;
  if (given(app, "--inline-calls")) config.inline_calls = flags.inline_calls;
}

void announce_warming(const PluginSettings& p, std::string_view module_name) {
  // One write: stderr is unbuffered and this line tells a supervisor (and
  // the tests) that start-up has begun.
  std::cerr << "warmpool serve: warming " + std::to_string(p.pool.warm_count) + " instance" +
                   (p.pool.warm_count == 1 ? "" : "s") + " of " + std::string(module_name) + "\n";
}

// Loads every plugin; on failure, the exit code (after a message).
std::expected<std::vector<std::unique_ptr<ServedPlugin>>, int> load_plugins(
    const ServeConfig& config, const LoadHooks& hooks) {
  std::vector<std::unique_ptr<ServedPlugin>> plugins;
  for (const PluginSettings& p : config.plugins) {
    auto plugin = load_served_plugin(p, hooks);
    if (int sig = take_stop_signal()) return std::unexpected(stopped_before_listening(sig));
    if (!plugin) {
      return std::unexpected(
          fail(kExitUsage, "serve",
               (config.plugins.size() > 1 ? "plugin '" + p.name + "': " : std::string()) +
                   plugin.error()));
    }
    plugins.push_back(std::move(*plugin));
  }
  return plugins;
}

// --check FILE: every plugin compiled, linked and instantiated once, nothing served.
int check_config(const ServeConfig& config, const std::string& file) {
  ServeConfig probe = config;
  for (PluginSettings& p : probe.plugins) p.no_pool = true;
  auto plugins = load_plugins(probe, {});
  if (!plugins) return plugins.error();
  std::cout << "warmpool serve: " << file << ": " << plugins->size() << " plugin"
            << (plugins->size() == 1 ? "" : "s") << " ok\n";
  for (const auto& p : *plugins) std::cout << p->describe().dump() << '\n';
  return kExitOk;
}

HttpServerOptions listener(const ServerSettings& s) {
  return {.host = s.host,
          .port = s.port,
          .io_threads = s.io_threads,
          .max_body = s.max_body,
          .max_connections = s.max_connections.value_or(default_max_connections()),
          .header_timeout = s.header_timeout,
          .idle_timeout = s.idle_timeout,
          .inline_work = s.inline_calls};
}

// One thread, a few connections, small bodies: an operator's curl, not traffic.
HttpServerOptions admin_listener(const ServerSettings& s) {
  return {.host = s.admin_listen->host,
          .port = s.admin_listen->port,
          .io_threads = 1,
          .max_body = kAdminMaxBody,
          .max_connections = kAdminMaxConnections,
          .header_timeout = s.header_timeout,
          .idle_timeout = s.idle_timeout};
}

int serve(const ServeConfig& config, const ServeRoutes& routes, ServeReload reload) {
  // The addresses first: a port in use or a name that does not resolve is
  // reported before any compile or warm-up.
  const ServerSettings& s = config.server;
  auto server = HttpServer::bind(listener(s));
  if (!server) return fail(kExitUsage, "serve", server.error());
  std::unique_ptr<HttpServer> admin;
  if (s.admin_listen) {
    auto bound = HttpServer::bind(admin_listener(s));
    if (!bound) return fail(kExitUsage, "serve", "admin_listen: " + bound.error());
    admin = std::move(*bound);
  }
  auto plugins =
      load_plugins(config, {.interrupted = stop_signal_pending, .warming = announce_warming});
  if (!plugins) return plugins.error();
  return serve_plugins(**server, admin.get(), config, std::move(*plugins), routes,
                       std::move(reload));
}

}  // namespace

int serve_main(std::span<const std::string> args) {
  const CLI::Validator listen_address_check(
      [](std::string& text) {
        auto address = parse_listen_address(text);
        return address ? std::string() : address.error();
      },
      "");
  CLI::App app;
  configure_command(app, serve_help());
  ServerSettings server;
  server.threads = default_threads();
  server.acquire_timeout = kServeAcquireTimeout;
  PluginSettings plugin;
  std::string plugin_path, config_file, check_file;
  std::string listen;
  std::uint64_t max_connections = 0;
  std::uint64_t header_timeout_ms = static_cast<std::uint64_t>(server.header_timeout.count());
  std::uint64_t idle_timeout_ms = static_cast<std::uint64_t>(server.idle_timeout.count());
  std::uint64_t drain_timeout_ms = static_cast<std::uint64_t>(server.drain_timeout.count());
  app.add_option("--listen", listen,
                 "address to listen on; HOST is an IPv4 address, an\n[IPv6] address or a host "
                 "name (port 0: any free\nport; the chosen address is printed on the first "
                 "line\nof stdout)")
      ->type_name("HOST:PORT")
      ->check(listen_address_check);
  app.add_option(
         "--threads", server.threads,
         "the pool's --max defaults to this: one call thread per\ninstance; with --no-pool, the "
         "calls that run at once\n(1..1024, default " +
             std::to_string(default_threads()) + " = max(4, 2 x cores))")
      ->type_name("N")
      ->check(integer_in(1, 1024));
  app.add_option("--io-threads", server.io_threads,
                 "threads that accept, parse and write HTTP, each an\nevent loop with its "
                 "share of the connections;\nthey run plugin code only with --inline-calls\n"
                 "(1..64, default 1)")
      ->type_name("N")
      ->check(integer_in(1, 64));
  app.add_option(
         "--max-connections", max_connections,
         "open connections at most; more are closed as soon as\naccepted (1..1000000; default: "
         "open-file limit minus 64,\nat most 10000)")
      ->type_name("N")
      ->check(integer_in(1, 1'000'000));
  app.add_option("--queue", server.queue,
                 "requests that may wait for a free call thread, each at\nmost "
                 "--acquire-timeout-ms; beyond it 503 at once\n(0..100000, default 256)")
      ->type_name("N")
      ->check(integer_in(0, 100'000));
  app.add_option("--header-timeout-ms", header_timeout_ms,
                 "a request's head and body must arrive within this;\nslower clients are closed "
                 "(1..3600000, default 10000)")
      ->type_name("N")
      ->check(integer_in(1, 3'600'000));
  app.add_option("--idle-timeout-ms", idle_timeout_ms,
                 "a keep-alive connection with no request is closed\nafter this (1..3600000, "
                 "default 30000)")
      ->type_name("N")
      ->check(integer_in(1, 3'600'000));
  app.add_option("--drain-timeout-ms", drain_timeout_ms,
                 "on SIGTERM/SIGINT, calls still running after this are\ninterrupted and the "
                 "process exits (0..3600000,\ndefault 10000)")
      ->type_name("N")
      ->check(integer_in(0, 3'600'000));
  app.add_option("--max-body", server.max_body,
                 "largest request body accepted in bytes\n(0..4294967296, default 1048576)")
      ->type_name("BYTES")
      ->check(integer_in(0, 1ULL << 32));
  app.add_flag("--no-pool", plugin.no_pool,
               "a fresh instance per request (for comparison; not\nwith --policy, --max, --warm)");
  PoolFlags pool_flags(app, {.acquire_timeout = kServeAcquireTimeout,
                             .acquire_timeout_help = "how long a request may wait for a free call "
                                                     "thread\nor instance before 503 + "
                                                     "Retry-After"});
  EngineFlags engine_flags(app, {.timeout = kServeCallTimeout});
  std::string admin_listen;
  app.add_option("--admin-listen", admin_listen,
                 "serve POST /admin/reload here (and nothing else);\nkeep it on loopback "
                 "(default: none; SIGHUP reloads\nin any case)")
      ->type_name("HOST:PORT")
      ->check(listen_address_check);
  app.add_flag("--watch", server.watch,
               "reload when the config file or a plugin's source\nchanges (inotify, 200 ms "
               "debounce)");
  app.add_flag("--inline-calls", server.inline_calls,
               "run a call on the I/O thread that read it when the\nplugin has an idle call "
               "thread (no hand-off); a call\npast 1 ms gets that I/O loop another thread, so "
               "its\nother connections wait 1-1.5 ms at most");
  app.add_option("--config", config_file,
                 "serve the plugins of this TOML file (README, \"Serving\nmany plugins\"); "
                 "server flags given here override\nits [server] table")
      ->type_name("FILE");
  app.add_option("--check", check_file,
                 "check a config file and every plugin in it (compiled,\nlinked, instantiated "
                 "once), then exit without serving")
      ->type_name("FILE");
  app.add_option("PLUGIN", plugin_path, "the plugin: a .wasm or .wat file, or an Extism manifest")
      ->type_name("");
  if (auto exit_code = parse_command(app, "serve", args)) return *exit_code;
  if (auto conflict = excluding_each_other(app, "--no-pool", {"--policy", "--max", "--warm"})) {
    return usage_error("serve", *conflict);
  }
  if (auto conflict = excluding_each_other(app, "--config", {"--check"})) {
    return usage_error("serve", *conflict);
  }
  const bool from_file = given(app, "--config") || given(app, "--check");
  if (from_file) {
    if (given(app, "PLUGIN")) {
      return usage_error("serve", {"a config file names its plugins: no PLUGIN with " +
                                   std::string(given(app, "--config") ? "--config" : "--check")});
    }
    for (std::string_view flag : {"--engine", "--fuel", "--timeout-ms", "--max-memory-pages",
                                  "--max", "--warm", "--policy", "--no-pool"}) {
      if (given(app, flag)) {
        return usage_error("serve", {std::string(flag) +
                                     " is a plugin's setting: with a config file, set it in the "
                                     "plugin's [plugin.pool] or [plugin.limits]"});
      }
    }
  } else {
    if (!given(app, "--listen")) return usage_error("serve", {"--listen is required"});
    if (!given(app, "PLUGIN")) return usage_error("serve", {"expected PLUGIN"});
  }
  if (given(app, "--listen")) {
    auto address = parse_listen_address(listen);
    server.host = std::move(address->host);
    server.port = address->port;
  }
  if (given(app, "--admin-listen")) server.admin_listen = *parse_listen_address(admin_listen);
  if (given(app, "--max-connections")) server.max_connections = max_connections;
  server.header_timeout = std::chrono::milliseconds(header_timeout_ms);
  server.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  server.drain_timeout = std::chrono::milliseconds(drain_timeout_ms);
  auto pool = pool_flags.config(server.threads);
  if (!pool) return usage_error("serve", pool.error());
  server.acquire_timeout = pool->acquire_timeout;

  if (from_file) {
    const std::string& file = given(app, "--check") ? check_file : config_file;
    if (auto bad = check_readable_file(file, given(app, "--check") ? "--check" : "--config")) {
      return fail(kExitUsage, "serve", *bad);
    }
    auto read_config = [&app, &server, file]() -> std::expected<ServeConfig, std::string> {
      auto config = load_serve_config(file, server);
      if (config) override_given_server_flags(app, server, config->server);
      return config;
    };
    auto config = read_config();
    if (!config) return fail(kExitUsage, "serve", config.error());
    block_signals();
    if (given(app, "--check")) return check_config(*config, file);
    return serve(*config, {}, {.read_config = read_config, .config_file = file});
  }
  if (auto bad = check_readable_file(plugin_path, "PLUGIN")) return fail(kExitUsage, "serve", *bad);
  const EngineOptions engine = engine_flags.options();
  plugin.name = std::filesystem::path(plugin_path).stem().string();
  plugin.source = plugin_path;
  plugin.engine = engine.engine;
  plugin.limits = engine.limits;
  plugin.pool = *pool;
  plugin.server_threads = server.threads;
  plugin.queue = server.queue;
  block_signals();
  const ServeConfig config{.server = server, .plugins = {plugin}};
  // A reload re-reads PLUGIN: a new build of it is served without a restart.
  return serve(config, {.call_route_plugin = plugin.name},
               {.read_config = [config] { return std::expected<ServeConfig, std::string>(config); },
                .config_file = std::nullopt});
}

}  // namespace warmpool::cli
