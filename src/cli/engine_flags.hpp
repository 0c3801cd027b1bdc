// The engine and limit flags shared by `run`, `bench` and `serve`:
// --engine, --fuel, --timeout-ms, --max-memory-pages.
//
//   auto specs = with_flags(kEngineFlags, {{"json", ""}});
//   ...
//   EngineOptions eo = read_engine_options(reader);
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "options.hpp"
#include "warmpool/wasm/types.hpp"

namespace warmpool::cli {

inline constexpr FlagSpec kEngineFlags[] = {
    {"engine", "wabt|v8"}, {"fuel", "N"}, {"timeout-ms", "N"}, {"max-memory-pages", "N"}};

// Help text for kEngineFlags, listing the engines built into this binary.
std::string engine_flags_help();

struct EngineOptions {
  std::string engine;
  wasm::Limits limits;
};

EngineOptions read_engine_options(FlagReader& flags);

// Concatenates flag tables.
std::vector<FlagSpec> with_flags(std::initializer_list<std::span<const FlagSpec>> tables);

}  // namespace warmpool::cli
