// The engine and limit flags shared by `run`, `bench` and `serve`:
// --engine, --fuel, --timeout-ms, --max-memory-pages. Each command passes its
// own defaults: serve caps a call's time unless told otherwise, run and bench
// do not.
//
//   EngineFlags engine_flags(app, {.timeout = std::chrono::milliseconds(10'000)});
//   if (auto exit_code = parse_command(app, "serve", args)) return *exit_code;
//   EngineOptions eo = engine_flags.options();
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "warmpool/wasm/types.hpp"

namespace warmpool::cli {

struct EngineDefaults {
  std::chrono::milliseconds timeout{0};   // 0: none
  std::uint32_t max_memory_pages = 4096;  // 256 MiB; 0: the module's own maximum
};

struct EngineOptions {
  std::string engine;
  wasm::Limits limits;
};

class EngineFlags {
 public:
  // Adds the flags to `app`; they write into this object, which must stay put.
  EngineFlags(CLI::App& app, EngineDefaults defaults);
  EngineFlags(const EngineFlags&) = delete;
  EngineFlags& operator=(const EngineFlags&) = delete;

  // The parsed values (defaults for flags not given).
  EngineOptions options() const;

 private:
  std::string engine_;
  std::uint64_t fuel_ = 0;
  std::uint64_t timeout_ms_ = 0;
  std::uint32_t max_memory_pages_ = 0;
};

}  // namespace warmpool::cli
