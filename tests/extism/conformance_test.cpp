// Every call recorded in ../shared/extism/expected/*.json (the official host's
// results on real Extism plugins), replayed on every engine: outputs must match
// byte for byte, errors by the plugin's own message. Where this host follows
// the Rust runtime and the recording (JS SDK) differs, or a feature is not
// implemented yet, the call is listed in kKnownDifferences with the reason
// (and in docs/extism.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reference_host_functions.hpp"
#include "warmpool/extism/extism.hpp"

namespace warmpool::extism {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kShared = WARMPOOL_EXTISM_SHARED_DIR;

// "<file>#<instance>/<call>" (or "/create") -> why this host's result differs.
const std::map<std::string, std::string> kKnownDifferences = {
    {"code.json#3/0",
     "max_var_bytes 0 disables vars (Rust runtime); the JS SDK reads 0 as no limit"},
    {"code.json#4/0", "wording: 'Function not found: NAME' (Rust runtime) vs the JS SDK's"},
    {"echo.json#0/1",
     "empty input: input_load_u64 past the end returns 0 (Rust kernel), the JS "
     "SDK throws"},
    {"exit.json#0/0", "_start with proc_exit(0) succeeds (Rust runtime); JS SDK rc13 fails"},
    {"exit.json#1/0",
     "proc_exit(500) fails with its code; JS SDK rc13 fails with Symbol(kExitCode)"},
    {"exit.json#2/0", "proc_exit(1) fails with its code; JS SDK rc13 fails with Symbol(kExitCode)"},
    {"fs.json#1/0",
     "WASI file calls answer EBADF/ENOSYS; the plugin returns 1 where Node's WASI "
     "let it succeed"},
    {"circular.json#0/0",
     "circular.wasm imports rhs's memory: the embedding API links functions "
     "only"},
    {"http.json#0/0",
     "no allowed_hosts: the call fails with the denial (Rust runtime); the JS SDK on "
     "its main thread logs 'not enabled' and returns 0"},
    {"http.json#1/0",
     "denial wording: allowed_hosts and the URL as given (Rust) vs allowedHosts and "
     "a normalised URL (JS)"},
    {"http_headers.json#0/0", "denial wording, as http.json#1/0"},
    {"http.js-sdk.json#0/0", "denial wording: allowed_hosts (Rust) vs allowedHosts (JS)"},
    {"http.js-sdk.json#1/0",
     "an allowed request to a closed port: warmpool names the cause ('cannot connect to "
     "127.0.0.1:9: Connection refused'), the JS SDK says 'fetch failed'"},
    {"loop.json#0/0", "timeout wording: 'timeout: ...' (Rust: 'timeout') vs the JS SDK's"},
    {"loop-forever.json#0/0", "timeout wording, as loop.json#0/0"},
    {"memory.json#0/0",
     "max_pages caps the plugin's memory too (Rust runtime): memory.wasm starts at "
     "17 pages, so creating it fails; the JS SDK caps kernel memory only"},
    {"memory.json#1/0", "as memory.json#0/0"},
    {"memory.json#2/0", "var store limit wording: 'Variable store is full' (Rust) vs the JS SDK's"},
};

std::string clip(std::string_view text) {
  std::string s(text.substr(0, 120));
  if (text.size() > 120) s += "...(" + std::to_string(text.size()) + " bytes)";
  return s;
}

// The message without the JS SDK's own prefixes.
std::string plugin_message(std::string message) {
  for (std::string_view prefix : {"Plugin-originated error: ", "Call error: "}) {
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
  }
  return message;
}

std::string call_input(const json& call) {
  if (call.contains("input_utf8")) return call["input_utf8"].get<std::string>();
  const json& generated = call["input_generated"];
  const std::string pattern = generated["pattern"].get<std::string>();
  const auto length = generated["length"].get<std::size_t>();
  std::string input;
  while (input.size() < length) input += pattern;
  input.resize(length);
  return input;
}

// The testdata/ copies made for this process's instances, removed when the test ends.
std::vector<fs::path> testdata_copies;

struct Logs {
  std::vector<std::pair<std::string, std::string>> lines;
};

std::expected<Manifest, std::string> instance_manifest(const json& instance) {
  Manifest manifest;
  for (const json& entry : instance["manifest_wasm"]) {
    const fs::path path = kShared / "plugins" / entry["file"].get<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected("cannot read " + path.string());
    WasmSource source{entry.value("name", std::string()),
                      std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {}),
                      path.filename().string()};
    manifest.wasm.push_back(std::move(source));
  }
  if (manifest.wasm.size() == 1) manifest.wasm[0].name = "main";
  const json& options = instance["options"];
  if (options.contains("config")) {
    for (const auto& [k, v] : options["config"].items()) manifest.config[k] = v.get<std::string>();
  }
  if (options.contains("memory")) {
    const json& memory = options["memory"];
    if (memory.contains("maxPages")) manifest.max_pages = memory["maxPages"].get<std::uint32_t>();
    if (memory.contains("maxVarBytes")) {
      manifest.max_var_bytes = memory["maxVarBytes"].get<std::uint64_t>();
    }
  }
  if (options.contains("allowedHosts")) {
    manifest.allowed_hosts = options["allowedHosts"].get<std::vector<std::string>>();
  }
  // The JS SDK's allowedPaths run guest -> host; the recordings map a fresh copy of the
  // kit's testdata/ per instance.
  if (options.contains("allowedPaths")) {
    const fs::path copy =
        fs::temp_directory_path() / ("warmpool_extism_testdata_" + std::to_string(::getpid()) +
                                     "_" + std::to_string(testdata_copies.size()));
    testdata_copies.push_back(copy);
    fs::remove_all(copy);
    fs::copy(kShared / "testdata", copy, fs::copy_options::recursive);
    fs::permissions(copy, fs::perms::owner_all, fs::perm_options::add);
    for (const auto& [guest, host] : options["allowedPaths"].items()) {
      manifest.allowed_paths.push_back({copy, guest, /*read_only=*/false});
    }
  }
  if (options.contains("timeoutMs")) {
    manifest.timeout = std::chrono::milliseconds(options["timeoutMs"].get<std::int64_t>());
  }
  return manifest;
}

std::expected<PluginOptions, std::string> instance_options(const json& instance,
                                                           wasm::Engine engine, Logs& logs) {
  const json& options = instance["options"];
  PluginOptions o{.engine = engine, .wasi = options.value("useWasi", false)};
  if (options.contains("logLevel"))
    o.log_level = log_level_named(options["logLevel"].get<std::string>());
  o.log_sink = [&logs](LogLevel level, std::string_view message) {
    logs.lines.emplace_back(std::string(to_string(level)), std::string(message));
  };
  if (options.contains("functions")) {
    for (const auto& [module, functions] : options["functions"].items()) {
      for (const auto& [name, implementation] : functions.items()) {
        auto f = testing::reference_host_function(implementation.get<std::string>());
        if (!f) return std::unexpected("no host function " + implementation.get<std::string>());
        o.host_functions.push_back({module, name, std::move(*f)});
      }
    }
  }
  return o;
}

// "" when our result matches the recorded one, else what differs.
std::string compare_call(Plugin& plugin, const json& call, Logs& logs) {
  logs.lines.clear();
  const std::string input = call_input(call);
  auto out = plugin.call(call["export"].get<std::string>(), input);
  std::string problem;
  if (call.contains("expected_error")) {
    const std::string wanted = plugin_message(call["expected_error"].get<std::string>());
    if (out) {
      problem = "succeeded with '" + clip(*out) + "', expected error '" + wanted + "'";
    } else if (out.error().message().find(wanted) == std::string::npos) {
      problem = "error '" + clip(out.error().message()) + "', expected '" + wanted + "'";
    }
  } else {
    const std::string wanted = call.contains("expected_output_utf8")
                                   ? call["expected_output_utf8"].get<std::string>()
                                   : "";
    if (!out) {
      problem =
          "failed with '" + clip(out.error().message()) + "', expected '" + clip(wanted) + "'";
    } else if (*out != wanted) {
      problem = "output '" + clip(*out) + "', expected '" + clip(wanted) + "'";
    }
  }
  if (problem.empty() && call.contains("logs")) {
    auto wanted = call["logs"].get<std::vector<std::pair<std::string, std::string>>>();
    if (wanted != logs.lines) problem = "logs differ: got " + json(logs.lines).dump();
  }
  return problem;
}

struct Tally {
  int calls = 0;
  int matched = 0;
  std::vector<std::string> unexpected;    // differences not in kKnownDifferences
  std::vector<std::string> now_matching;  // listed as different, but matched
  void record(const std::string& id, const std::string& problem) {
    ++calls;
    const bool known = kKnownDifferences.contains(id);
    if (problem.empty()) {
      ++matched;
      if (known) now_matching.push_back(id);
    } else if (!known) {
      unexpected.push_back(id + ": " + problem);
    }
  }
};

void replay_instance(const std::string& file, const json& instance, wasm::Engine engine,
                     Tally& tally) {
  const std::string id = file + "#" + std::to_string(instance["instance"].get<int>());
  Logs logs;
  auto manifest = instance_manifest(instance);
  auto options = instance_options(instance, engine, logs);
  if (!manifest || !options) {
    tally.record(id + "/create", manifest ? options.error() : manifest.error());
    return;
  }
  auto plugin = Plugin::create(*manifest, *options);
  const bool should_create = instance["create"]["ok"].get<bool>();
  if (!should_create) {
    tally.record(
        id + "/create",
        plugin ? "created, expected: " + instance["create"]["error"].get<std::string>() : "");
    return;
  }
  const json& calls = instance["calls"];
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::string call_id = id + "/" + std::to_string(i);
    tally.record(call_id, plugin ? compare_call(*plugin, calls[i], logs)
                                 : "create failed: " + plugin.error().message());
  }
}

class Conformance : public ::testing::TestWithParam<std::string_view> {};

TEST_P(Conformance, EveryRecordedCallMatchesOrIsAKnownDifference) {
  if (!fs::is_directory(kShared / "expected")) {
    GTEST_SKIP() << kShared.string() << " is absent: Extism conformance skipped";
  }
  const wasm::Engine engine = *wasm::Engine::named(GetParam());
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kShared / "expected"))
    files.push_back(entry.path());
  std::ranges::sort(files);
  Tally tally;
  for (const fs::path& path : files) {
    std::ifstream in(path);
    const json recorded = json::parse(in);
    for (const json& instance : recorded["instances"]) {
      replay_instance(path.filename().string(), instance, engine, tally);
    }
  }
  std::cout << "[extism conformance] " << GetParam() << ": " << tally.matched << " of "
            << tally.calls << " recorded results match; " << kKnownDifferences.size()
            << " known differences (docs/extism.md)\n";
  for (const auto& id : tally.now_matching) {
    std::cout << "[extism conformance] now matches, remove from kKnownDifferences: " << id << '\n';
  }
  for (const auto& line : tally.unexpected) ADD_FAILURE() << line;
  for (const fs::path& copy : testdata_copies) fs::remove_all(copy);
}

INSTANTIATE_TEST_SUITE_P(Engines, Conformance,
                         ::testing::ValuesIn(::warmpool::wasm::Engine::available()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace warmpool::extism
