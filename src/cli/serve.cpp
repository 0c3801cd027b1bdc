// `warmpool serve`: one plugin over HTTP, with the pool behind it.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "call_queue.hpp"
#include "diagnostics.hpp"
#include "engine_flags.hpp"
#include "engines.hpp"
#include "error_status.hpp"
#include "exit_code.hpp"
#include "http_metrics.hpp"
#include "http_server.hpp"
#include "input_file.hpp"
#include "listen_address.hpp"
#include "options.hpp"
#include "pool_flags.hpp"
#include "subcommands.hpp"
#include "url_path.hpp"
#include "value_text.hpp"
#include "warmpool/instance_pool.hpp"
#include "warmpool/wasm/interrupt.hpp"

namespace warmpool::cli {
namespace {

constexpr auto kServeAcquireTimeout = std::chrono::milliseconds(1000);
constexpr auto kServeCallTimeout = std::chrono::milliseconds(10'000);
constexpr std::size_t kDefaultMaxBody = 1 << 20;

std::size_t default_threads() {
  return std::max<std::size_t>(4, 2 * std::thread::hardware_concurrency());
}

CommandHelp serve_help() {
  return {
      .usage = "warmpool serve PLUGIN --listen HOST:PORT [options]",
      .description =
          "Serves PLUGIN's bytes exports (docs/plugin-abi.md) over HTTP/1.1 with a pool of\n"
          "pre-warmed instances behind it. Plugin calls run on --threads call threads, never\n"
          "on the --io-threads that accept and answer, so /healthz and /metrics answer while\n"
          "every call is busy. A request waits for a call thread in arrival order.\n\n"
          "  POST /call/<export>   request body in, the export's output out (200);\n"
          "                        <export> may be percent-encoded (%65cho = echo)\n"
          "  GET  /metrics         Prometheus text: pool counters and histograms, HTTP requests\n"
          "                        and latency by status, connections, the call queue\n"
          "  GET  /healthz         200 \"ok\"\n\n"
          "Errors have a JSON body {\"error\": kind, \"message\": text}:\n"
          "  404 not_found                    no such export (or route)\n"
          "  400 bad_request                  the export is not a bytes export, the path has\n"
          "                                   a malformed %-escape or %00, the request is not\n"
          "                                   HTTP/1.1, or its Transfer-Encoding is not chunked\n"
          "  413 payload_too_large            body larger than --max-body\n"
          "  500 trap | memory_limit | abi    the plugin failed (its instance is discarded)\n"
          "  503 resource_limit               no call thread or instance free within\n"
          "                                   --acquire-timeout-ms, or --queue requests\n"
          "                                   already waiting (with Retry-After)\n"
          "  504 fuel_exhausted | deadline    the call ran out of fuel or time\n\n"
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
                "  curl -s 'http://[::1]:8080/metrics' | grep warmpool_http_requests_total\n"};
}

struct ServeOptions {
  EngineOptions engine;
  std::string plugin;
  std::string host;
  std::uint16_t port = 0;
  std::size_t threads = 0;
  std::size_t max_body = kDefaultMaxBody;
  bool no_pool = false;
  PoolConfig pool;
  std::size_t io_threads = 1;
  std::optional<std::size_t> max_connections;  // default: from the open-file limit
  // Bounds what waiting requests hold: at most queue x --max-body bytes of bodies.
  std::size_t queue = 256;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds drain_timeout{10'000};
};

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
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
void block_stop_signals() {
  sigset_t set = stop_signals();
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

// Descriptors the server keeps for itself beyond its connections: the
// plugin's files, the engine, the pool's threads, stdio.
constexpr std::size_t kReservedDescriptors = 64;
constexpr std::size_t kMostDefaultConnections = 10'000;

// The open-file limit minus a reserve, so connections alone can never use
// every descriptor; half the limit where the limit is tiny.
std::size_t default_max_connections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return kMostDefaultConnections;
  }
  const auto soft = static_cast<std::size_t>(limit.rlim_cur);
  const std::size_t cap = soft > 2 * kReservedDescriptors ? soft - kReservedDescriptors : soft / 2;
  return std::clamp<std::size_t>(cap, 1, kMostDefaultConnections);
}

HttpResponse busy_response(std::string message) {
  HttpResponse r = json_error(503, "resource_limit", message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

template <class Engine>
int serve_with(const ServeOptions& o) {
  using Instance = typename Engine::Instance;
  using Pool = InstancePool<Instance, wasm::WasmError>;

  // The address first: a port in use or a name that does not resolve is
  // reported before any compile or warm-up.
  auto server =
      HttpServer::bind({.host = o.host,
                        .port = o.port,
                        .io_threads = o.io_threads,
                        .max_body = o.max_body,
                        .max_connections = o.max_connections.value_or(default_max_connections()),
                        .header_timeout = o.header_timeout,
                        .idle_timeout = o.idle_timeout});
  if (!server) return fail(kExitUsage, "serve", server.error());

  auto module = Engine::Module::load_file(o.plugin, o.engine.limits);
  if (!module) return fail_loading(kExitUsage, "serve", o.plugin, module.error());
  std::shared_ptr<const typename Engine::Module> compiled = *module;
  std::atomic<bool> starting{true};
  auto factory = [compiled, &starting]() -> std::expected<Instance, wasm::WasmError> {
    // Cuts a long warm-up short on SIGINT/SIGTERM. Only during start-up:
    // the check is a system call.
    if (starting.load(std::memory_order_relaxed) && stop_signal_pending()) {
      return std::unexpected(
          wasm::WasmError(wasm::ErrorKind::instantiate, "start-up interrupted by a signal"));
    }
    return Instance::instantiate(compiled);
  };

  std::optional<Pool> pool;
  if (o.no_pool) {
    auto probe = factory();
    starting = false;
    if (int sig = take_stop_signal()) return stopped_before_listening(sig);
    if (!probe) return fail(kExitUsage, "serve", probe.error());
  } else {
    if (o.pool.warm_count > 0) {
      // One write: stderr is unbuffered and this line tells a supervisor (and
      // the tests) that start-up has begun.
      std::cerr << "warmpool serve: warming " + std::to_string(o.pool.warm_count) + " instance" +
                       (o.pool.warm_count == 1 ? "" : "s") + " of " + compiled->name() + "\n";
    }
    auto created = Pool::create(o.pool, factory, Engine::lifecycle());
    starting = false;
    if (int sig = take_stop_signal()) return stopped_before_listening(sig);
    if (!created) return fail(kExitUsage, "serve", created.error());
    pool.emplace(std::move(*created));
  }
  const std::string pool_name = std::filesystem::path(o.plugin).stem().string();

  auto call = [&](const std::string& export_name, const std::string& body) -> HttpResponse {
    auto input = std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    auto answer = [](std::expected<wasm::BytesOutput, wasm::WasmError>& out) -> HttpResponse {
      if (!out) return error_response(out.error());
      return {.status = 200,
              .body = std::move(out->output),
              .content_type = "application/octet-stream"};
    };
    if (!pool) {
      auto instance = factory();
      if (!instance) return error_response(instance.error());
      auto out = instance->call_bytes(export_name, input);
      return answer(out);
    }
    auto lease = pool->checkout();
    if (!lease) return error_response(lease.error());
    auto out = lease->get().call_bytes(export_name, input);
    // The lifecycle already refuses unhealthy instances; discarding here
    // keeps a poisoned instance out even if a loader misses a case.
    if (!out && out.error().poisons_instance()) lease->discard();
    return answer(out);
  };

  HttpMetrics http_metrics;
  CallQueue calls({.threads = o.threads, .capacity = o.queue, .max_wait = o.pool.acquire_timeout});
  const std::string full_message = "every call thread is busy and " + std::to_string(o.queue) +
                                   " requests are already waiting (--threads " +
                                   std::to_string(o.threads) + ", --queue " +
                                   std::to_string(o.queue) + ")";
  const std::string wait_message = "no call thread was free within --acquire-timeout-ms (" +
                                   std::to_string(o.pool.acquire_timeout.count()) + " ms)";

  auto handler = [&](HttpRequest req, Responder respond) {
    const std::string path = path_of(req.target);
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/healthz" || path == "/metrics") {
      if (!get) {
        HttpResponse r = json_error(405, "method_not_allowed", path + " takes GET");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return respond(std::move(r));
      }
      if (path == "/healthz") return respond({.status = 200, .body = "ok\n"});
      std::string text = pool ? pool->metrics()->to_prometheus(pool_name) : std::string();
      return respond({.status = 200,
                      .body = text + http_metrics.to_prometheus() +
                              to_prometheus((*server)->stats()) + calls.to_prometheus(),
                      .content_type = "text/plain; version=0.0.4; charset=utf-8"});
    }
    if (!path.starts_with("/call/")) {
      return respond(json_error(404, "not_found",
                                "no route for " + req.method + " " + path +
                                    " (try POST /call/<export>, GET /metrics, GET /healthz)"));
    }
    auto decoded = percent_decode(std::string_view(path).substr(6));
    if (!decoded) {
      return respond(json_error(400, "bad_request", "bad path '" + path + "': " + decoded.error()));
    }
    std::string export_name = std::move(*decoded);
    if (req.method != "POST") {
      HttpResponse r = json_error(405, "method_not_allowed", path + " takes POST");
      r.headers.emplace_back("Allow", "POST");
      return respond(std::move(r));
    }
    const auto* fn = compiled->find_export(export_name);
    if (fn == nullptr) {
      std::string list;
      for (const auto& e : compiled->exports()) {
        if (is_bytes_export(e.type)) list += (list.empty() ? "" : ", ") + e.name;
      }
      return respond(
          json_error(404, "not_found",
                     compiled->name() + ": export '" + export_name +
                         "' not found (bytes exports: " + (list.empty() ? "none" : list) + ")"));
    }
    if (!is_bytes_export(fn->type)) {
      return respond(json_error(400, "bad_request",
                                compiled->name() + ": export '" + export_name + "' has type " +
                                    signature(fn->type) +
                                    ", not the bytes type (i32, i32) -> (i64)"));
    }
    const bool queued =
        calls.submit([&call, respond, name = std::move(export_name),
                      body = std::move(req.body)] { respond(call(name, body)); },
                     [respond, &wait_message] { respond(busy_response(wait_message)); });
    if (!queued) respond(busy_response(full_message));
  };

  if (auto listening = (*server)->listen(); !listening) {
    return fail(kExitUsage, "serve", listening.error());
  }
  std::cout << "warmpool serve: listening on http://" << (*server)->address() << "/ ("
            << compiled->name() << ", engine " << o.engine.engine << ", "
            << (pool ? "pool " + std::string(policy_name(o.pool.recycle)) + " warm " +
                           std::to_string(o.pool.warm_count) + " max " +
                           std::to_string(o.pool.max_instances)
                     : std::string("no pool"))
            << ", " << o.threads << " call threads, " << o.io_threads << " I/O thread"
            << (o.io_threads == 1 ? "" : "s") << ")" << std::endl;
  const bool drained = (*server)->run(handler,
                                      [&](unsigned status, std::chrono::nanoseconds elapsed) {
                                        http_metrics.record(status, elapsed);
                                      },
                                      {.timeout = o.drain_timeout, .on_timeout = [](std::size_t) {
                                         wasm::interrupt_running_calls();
                                       }});
  if (!drained) {
    // Calls that no deadline can reach are still running on the call
    // threads: waiting for them would break the drain bound.
    std::cerr << "warmpool serve: stopped with calls still running (give the plugin a "
                 "--timeout-ms so they can be interrupted)\n";
    std::_Exit(kExitOk);
  }
  std::cerr << "warmpool serve: stopped\n";
  return kExitOk;
}

}  // namespace

int serve_main(std::span<const std::string> args) {
  CLI::App app;
  configure_command(app, serve_help());
  ServeOptions o;
  o.threads = default_threads();
  std::string listen;
  std::uint64_t max_connections = 0;
  std::uint64_t header_timeout_ms = static_cast<std::uint64_t>(o.header_timeout.count());
  std::uint64_t idle_timeout_ms = static_cast<std::uint64_t>(o.idle_timeout.count());
  std::uint64_t drain_timeout_ms = static_cast<std::uint64_t>(o.drain_timeout.count());
  app.add_option("--listen", listen,
                 "address to listen on; HOST is an IPv4 address, an\n[IPv6] address or a host "
                 "name (port 0: any free\nport; the chosen address is printed on the first "
                 "line\nof stdout)")
      ->type_name("HOST:PORT")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) {
            auto address = parse_listen_address(text);
            return address ? std::string() : address.error();
          },
          ""));
  app.add_option("--threads", o.threads,
                 "calls that run at once, each on its own call thread\n(1..1024, default " +
                     std::to_string(default_threads()) + " = max(4, 2 x cores))")
      ->type_name("N")
      ->check(integer_in(1, 1024));
  app.add_option("--io-threads", o.io_threads,
                 "threads that accept, parse and write HTTP; they\nnever run plugin code "
                 "(1..64, default 1)")
      ->type_name("N")
      ->check(integer_in(1, 64));
  app.add_option(
         "--max-connections", max_connections,
         "open connections at most; more are closed as soon as\naccepted (1..1000000; default: "
         "open-file limit minus 64,\nat most 10000)")
      ->type_name("N")
      ->check(integer_in(1, 1'000'000));
  app.add_option("--queue", o.queue,
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
  app.add_option("--max-body", o.max_body,
                 "largest request body accepted in bytes\n(0..4294967296, default 1048576)")
      ->type_name("BYTES")
      ->check(integer_in(0, 1ULL << 32));
  app.add_flag("--no-pool", o.no_pool,
               "a fresh instance per request (for comparison; not\nwith --policy, --max, --warm)");
  PoolFlags pool_flags(app, {.acquire_timeout = kServeAcquireTimeout,
                             .acquire_timeout_help = "how long a request may wait for a free call "
                                                     "thread\nor instance before 503 + "
                                                     "Retry-After"});
  EngineFlags engine_flags(app, {.timeout = kServeCallTimeout});
  app.add_option("PLUGIN", o.plugin, "the plugin, a .wasm or .wat file")->type_name("");
  if (auto exit_code = parse_command(app, "serve", args)) return *exit_code;
  if (!given(app, "PLUGIN")) return usage_error("serve", {"expected PLUGIN"});
  if (auto conflict = excluding_each_other(app, "--no-pool", {"--policy", "--max", "--warm"})) {
    return usage_error("serve", *conflict);
  }
  auto address = parse_listen_address(listen);
  o.host = std::move(address->host);
  o.port = address->port;
  if (given(app, "--max-connections")) o.max_connections = max_connections;
  o.header_timeout = std::chrono::milliseconds(header_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  o.drain_timeout = std::chrono::milliseconds(drain_timeout_ms);
  o.engine = engine_flags.options();
  auto pool = pool_flags.config(o.threads);
  if (!pool) return usage_error("serve", pool.error());
  o.pool = *pool;
  if (auto bad = check_readable_file(o.plugin, "PLUGIN")) return fail(kExitUsage, "serve", *bad);
  block_stop_signals();
  return with_engine(o.engine.engine, [&]<class E>(E) { return serve_with<E>(o); });
}

}  // namespace warmpool::cli
