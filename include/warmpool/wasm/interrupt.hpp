// warmpool/wasm/interrupt.hpp — ending the guest calls still running, for a
// host that has to stop (a server past its drain deadline).
//
// Every call of a module compiled with a deadline (`Limits::timeout`) can be
// ended early from any thread: the call then fails as if its deadline had
// passed (ErrorKind::deadline) and its instance is poisoned, on both engines.
// Calls of modules compiled without a deadline cannot be reached this way
// (wabt's interpreter only looks at the deadline from the metering that a
// deadline compiles in), so a host that must always be able to stop gives
// every module a deadline.
//
//   // on the thread that handles SIGTERM, once the drain period is over:
//   std::size_t ended = warmpool::wasm::interrupt_running_calls();
#pragma once

#include <cstddef>

namespace warmpool::wasm {

// Ends every call that has a deadline and is running now; returns how many.
// Calls that start afterwards are not affected.
std::size_t interrupt_running_calls();

}  // namespace warmpool::wasm
