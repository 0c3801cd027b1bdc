#include "engine_flags.hpp"

#include <algorithm>
#include <limits>

#include "default_engine.hpp"
#include "options.hpp"
#include "warmpool/wasm/engine.hpp"

namespace warmpool::cli {
namespace {

constexpr const char* kGroup = "Engine and limits";

std::string joined_engine_names() {
  std::string names;
  for (auto name : wasm::Engine::available())
    names += (names.empty() ? "" : "|") + std::string(name);
  return names;
}

CLI::Validator built_in_engine() {
  return CLI::Validator(
      [](std::string& name) {
        auto names = wasm::Engine::available();
        if (std::ranges::find(names, std::string_view(name)) != names.end()) return std::string();
        if (name == "v8") return std::string("this warmpool was built without V8 support");
        return "expected wabt or v8, got '" + name + "'";
      },
      "");
}

std::string timeout_help(std::chrono::milliseconds fallback) {
  return "wall-clock deadline per call in ms\n(0..86400000; default " +
         (fallback.count() == 0 ? std::string("0 = none")
                                : std::to_string(fallback.count()) + "; 0 = none") +
         ")";
}

std::string memory_help(std::uint32_t fallback) {
  return "cap on linear memory in 64 KiB pages\n(0..65536; default " + std::to_string(fallback) +
         " = " + std::to_string(fallback / 16) + " MiB;\n0 = only the module's own maximum)";
}

}  // namespace

EngineFlags::EngineFlags(CLI::App& app, EngineDefaults defaults)
    : engine_(default_engine()),
      timeout_ms_(static_cast<std::uint64_t>(defaults.timeout.count())),
      max_memory_pages_(defaults.max_memory_pages) {
  const std::string names = joined_engine_names();
  app.add_option("--engine", engine_,
                 "WebAssembly engine (default " + engine_ + "; built in: " + names + ")")
      ->type_name("wabt|v8")
      ->check(built_in_engine())
      ->group(kGroup);
  app.add_option("--fuel", fuel_,
                 "instruction budget per call\n(0..9223372036854775807; 0 = unlimited, default)")
      ->type_name("N")
      ->check(integer_in(0, std::numeric_limits<std::int64_t>::max()))
      ->group(kGroup);
  app.add_option("--timeout-ms", timeout_ms_, timeout_help(defaults.timeout))
      ->type_name("N")
      ->check(integer_in(0, 24ULL * 3600 * 1000))
      ->group(kGroup);
  app.add_option("--max-memory-pages", max_memory_pages_, memory_help(defaults.max_memory_pages))
      ->type_name("N")
      ->check(integer_in(0, 65536))
      ->group(kGroup);
}

EngineOptions EngineFlags::options() const {
  EngineOptions out;
  out.engine = engine_;
  out.limits.fuel = fuel_;
  out.limits.timeout = std::chrono::milliseconds(timeout_ms_);
  out.limits.max_memory_pages = max_memory_pages_;
  return out;
}

}  // namespace warmpool::cli
