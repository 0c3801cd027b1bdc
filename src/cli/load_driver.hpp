// Drives one benchmark workload from several threads and records latencies
// (`warmpool bench`). Engine-agnostic: the call is a callback.
//
// Closed loop (rate == 0): each thread issues its next call as soon as the
// previous one returns. Open loop (rate > 0): calls are scheduled at fixed
// arrival times (rate per second across all threads) and latency is measured
// from the *scheduled* arrival, not from when a thread got to it, so a stall
// shows up in the percentiles instead of silently lowering the load
// (coordinated omission).
//
//   LoadShape shape{.threads = 2, .calls = 1000};
//   LoadResult r = drive_load(shape, [&](std::size_t) -> std::optional<std::string> {
//     return call_plugin_once();   // nullopt on success, else the error text
//   }, "pool");
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "latency_stats.hpp"

namespace warmpool::cli {

struct LoadShape {
  std::size_t threads = 1;
  std::uint64_t calls = 0;                      // stop after this many calls (0: use duration)
  std::chrono::duration<double> duration{2.0};  // stop after this long when calls == 0
  double rate = 0;                              // calls per second; 0 = closed loop
};

struct LoadResult {
  LatencySamples latencies;  // successful calls only
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  double seconds = 0;                      // wall time of the whole run
  std::optional<std::string> first_error;  // text of the first failed call
};

// `call(thread_index)` returns nullopt on success, or the error's text.
using CallFn = std::function<std::optional<std::string>(std::size_t thread_index)>;

// `label` names the run on the progress bar (drawn only when stderr is a tty).
LoadResult drive_load(const LoadShape& shape, const CallFn& call, const std::string& label);

}  // namespace warmpool::cli
