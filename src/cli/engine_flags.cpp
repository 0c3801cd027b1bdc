#include "engine_flags.hpp"

#include <algorithm>
#include <limits>

#include "engines.hpp"

namespace warmpool::cli {

std::string engine_flags_help() {
  std::string engines;
  for (auto name : engine_names()) {
    if (!engines.empty()) engines += '|';
    engines += name;
  }
  return "  --engine " + engines + "      WebAssembly engine (default wabt; built in: " + engines +
         ")\n"
         "  --fuel N                instruction budget per call (0 = unlimited, default)\n"
         "  --timeout-ms N          wall-clock deadline per call in ms (0 = none, default)\n"
         "  --max-memory-pages N    cap on linear memory in 64 KiB pages (0 = module's own)\n";
}

EngineOptions read_engine_options(FlagReader& flags) {
  EngineOptions out;
  out.engine = std::string(engine_names().front());
  if (auto name = flags.string("engine")) {
    auto names = engine_names();
    if (std::ranges::find(names, std::string_view(*name)) != names.end()) {
      out.engine = *name;
    } else if (*name == "v8") {
      flags.fail("--engine v8: this warmpool was built without V8 support");
    } else {
      flags.fail("--engine: expected wabt or v8, got '" + *name + "'");
    }
  }
  out.limits.fuel = flags.u64("fuel", 0, 0, std::numeric_limits<std::int64_t>::max());
  out.limits.timeout =
      std::chrono::milliseconds(flags.u64("timeout-ms", 0, 0, 24ULL * 3600 * 1000));
  out.limits.max_memory_pages =
      static_cast<std::uint32_t>(flags.u64("max-memory-pages", 0, 0, 65536));
  return out;
}

std::vector<FlagSpec> with_flags(std::initializer_list<std::span<const FlagSpec>> tables) {
  std::vector<FlagSpec> out;
  for (auto t : tables) out.insert(out.end(), t.begin(), t.end());
  return out;
}

}  // namespace warmpool::cli
