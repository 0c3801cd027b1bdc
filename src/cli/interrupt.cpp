#include "interrupt.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "exit_code.hpp"

namespace warmpool::cli {
namespace {

struct InterruptState {
  std::mutex mutex;
  std::string command;
  std::string activity;
};

InterruptState& state() {
  static InterruptState instance;
  return instance;
}

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

[[noreturn]] void report_and_exit(int sig) {
  std::string message;
  {
    std::lock_guard lock(state().mutex);
    message = "warmpool " + state().command + ": interrupted by " +
              (sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (!state().activity.empty()) message += " while " + state().activity;
    message += '\n';
  }
  // write(2) and _exit: other threads may be inside guest code or hold the
  // iostream locks, so no stream flush and no static destructors.
  for (std::size_t written = 0; written < message.size();) {
    const ssize_t n = ::write(STDERR_FILENO, message.data() + written, message.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::_exit(sig == SIGINT ? kExitInterruptedBySigint : kExitInterruptedBySigterm);
}

}  // namespace

void exit_on_interrupt(std::string_view command) {
  {
    std::lock_guard lock(state().mutex);
    state().command = std::string(command);
  }
  const sigset_t signals = interrupt_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int sig = 0;
    while (sigwait(&signals, &sig) != 0) {
    }
    report_and_exit(sig);
  }).detach();
}

void set_interrupted_activity(std::string activity) {
  std::lock_guard lock(state().mutex);
  state().activity = std::move(activity);
}

}  // namespace warmpool::cli
