// Ctrl-C (SIGINT) and SIGTERM for `run` and `bench`: a plugin call may not
// return for a long time (no --timeout-ms), and the engines run guest code
// where a signal handler could do nothing useful. So the signals are blocked
// in every thread and one thread waits for them, prints what was going on
// and ends the process at once with 128 + the signal number (130, 143).
//
//   exit_on_interrupt("run");                      // before any thread starts
//   set_interrupted_activity("calling 'spin' in spin.wasm");
//   // SIGINT now: "warmpool run: interrupted by SIGINT while calling 'spin' in spin.wasm", exit
//   130
//
// serve has its own handling (a graceful drain) and does not use this.
#pragma once

#include <string>
#include <string_view>

namespace warmpool::cli {

// Must run before any other thread starts, so that all of them inherit the
// blocked signals. Call once per process.
void exit_on_interrupt(std::string_view command);

// What the message says the process was doing; empty: nothing in particular.
void set_interrupted_activity(std::string activity);

}  // namespace warmpool::cli
