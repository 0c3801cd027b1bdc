// The engine every command (run, bench, call, serve and a config file's
// plugins) uses when none is named: V8 when this build has it, else wabt.
//
//   std::string engine = default_engine();   // "v8" or "wabt"
//
// Measured on the repo's plugins (README "Engines and plugins"): V8 is never
// much slower, since its start-up costs a one-shot `run` or `call` ~7-10 ms,
// and is often far faster: markdown renders ~2x faster even one-shot and
// ~40x when served, fib(30) ~11x. wabt stays the engine of builds without V8.
#pragma once

#include <string>

namespace warmpool::cli {

std::string default_engine();

}  // namespace warmpool::cli
