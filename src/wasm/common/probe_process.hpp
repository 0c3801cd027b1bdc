// wasm/common/probe_process.hpp — internal: a helper process that runs work a crash must not
// escape.
//
// Debian's libwabt 1.0.32 keeps its assertions, and on some malformed .wat
// text its parser aborts the process. text_precheck.hpp stops the shapes
// known to do so, but not every one can be seen from the text: after an error
// the parser resynchronises and carries on, and it can then read an element
// segment's expression list from a place no scan of the text predicts, and
// abort on the first `(` there that opens no instruction (`(elem(if((f64(`,
// found by fuzz_module). Only the parser knows where it is, so such text is
// parsed in a helper process first: if it dies, it takes only itself down,
// and the caller learns how it died instead of dying too.
//
// The helper is forked on first use and kept: a request costs a round trip
// over a socket (tens of microseconds), not a fork (milliseconds, more the
// more memory the caller has). A helper that died is replaced on the next
// request. It has only the thread that forked it, all signals at their
// defaults, no file descriptors but its socket and stderr (captured: the
// report quotes its last line), is killed when the caller exits, and is
// stopped by SIGALRM if one input runs longer than `kProbeSeconds`. The work
// must not need other threads, or locks they might have held at the fork
// (wabt's parser only allocates, and glibc keeps malloc usable across fork).
// Requests from several threads are served one at a time.
//
//   ProbeProcess parser([](std::span<const std::uint8_t> text) { parse(text); });
//   if (auto death = parser.death_on(text)) reject(*death);
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace warmpool::wasm::internal {

inline constexpr unsigned kProbeSeconds = 30;

class ProbeProcess {
 public:
  using Work = std::function<void(std::span<const std::uint8_t>)>;

  explicit ProbeProcess(Work work) : work_(std::move(work)) {}
  ProbeProcess(const ProbeProcess&) = delete;
  ProbeProcess& operator=(const ProbeProcess&) = delete;
  ~ProbeProcess();

  // Empty when the work returned (or threw) on `input`, and also when no
  // helper could be started (fork refused: the caller's own checks stand
  // alone then). Otherwise how the helper ended, e.g.
  // "aborted (SIGABRT): parser.cc:12: Assertion `x' failed."
  std::optional<std::string> death_on(std::span<const std::uint8_t> input);

  // The helper's process id, -1 while there is none (for tests).
  pid_t helper() const;

 private:
  bool start();                     // mutex_ held
  std::string reap_and_describe();  // mutex_ held

  const Work work_;
  mutable std::mutex mutex_;
  pid_t helper_ = -1;
  int socket_ = -1;  // requests out, one byte back per finished input
  int stderr_ = -1;  // the helper's stderr, read when it dies
};

}  // namespace warmpool::wasm::internal
