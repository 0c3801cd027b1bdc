#include "wasm/common/probe_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string_view>
#include <vector>

#include "wasm/common/text.hpp"

namespace warmpool::wasm::internal {
namespace {

constexpr int kHelperSocket = 3;  // where the helper keeps its end
constexpr std::size_t kKeptOutput = 4096;

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    // MSG_NOSIGNAL: a dead helper is an error to report, not a SIGPIPE.
    const ssize_t sent = send(fd, bytes, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t size) {
  auto* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t got = read(fd, bytes, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

// Straight to the kernel: no atexit handlers, no flushing of stdio buffers
// inherited from the caller, and no sanitizer exit hooks (a leak check in the
// helper would count everything the caller's other threads hold as leaked).
[[noreturn]] void exit_now(int status) {
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

// The helper's side: a blank process state, then one input at a time.
[[noreturn]] void serve(const ProbeProcess::Work& work, int socket, int stderr_pipe) {
  // Defaults, not the caller's handlers: a fuzzer's or a crash reporter's
  // handler would report the helper's death as the caller's own, and a
  // caller's SIGINT handler would keep it alive.
  for (int signal = 1; signal < NSIG; ++signal) {
    if (signal != SIGKILL && signal != SIGSTOP) ::signal(signal, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  // Only the socket and stderr stay open: the helper outlives the call that
  // forked it and must not keep the caller's listening sockets, pipes or
  // files alive. stdin and stdout become /dev/null, and stderr never blocks.
  const int null = open("/dev/null", O_RDWR);
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(stderr_pipe, STDERR_FILENO);
  fcntl(STDERR_FILENO, F_SETFL, O_NONBLOCK);
  dup2(socket, kHelperSocket);
  close_range(kHelperSocket + 1, ~0U, 0);

  std::vector<std::uint8_t> input;
  for (;;) {
    std::uint64_t size = 0;
    if (!read_all(kHelperSocket, &size, sizeof size)) exit_now(0);  // the caller is gone
    input.resize(size);
    if (!read_all(kHelperSocket, input.data(), input.size())) exit_now(0);
    alarm(kProbeSeconds);
    try {
      work(input);
    } catch (...) {  // the caller runs the same work again and reports it there
    }
    alarm(0);
    const char done = 1;
    if (!write_all(kHelperSocket, &done, 1)) exit_now(0);
  }
}

// The last non-empty line, which is where abort() and the sanitizers put
// their verdict.
std::string last_line(std::string_view output) {
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) {
    output.remove_suffix(1);
  }
  const std::size_t start = output.rfind('\n');
  return std::string(start == std::string_view::npos ? output : output.substr(start + 1));
}

// `status` is empty when the process collected the helper's exit status
// elsewhere (SIGCHLD ignored, or a waitpid(-1) of its own).
std::string describe(std::optional<int> exit_status, std::string_view output) {
  std::string how;
  if (!exit_status) {
    how = "died (its exit status was collected elsewhere in the process)";
  } else if (const int status = *exit_status; WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = sigabbrev_np(signal);
    how = signal == SIGABRT   ? "aborted (SIGABRT)"
          : signal == SIGALRM ? cat("did not finish in ", kProbeSeconds, " s")
                              : cat("was killed by SIG", name != nullptr ? name : "?");
  } else {
    how = cat("exited with status ", WEXITSTATUS(*exit_status));
  }
  const std::string line = last_line(output);
  return line.empty() ? how : cat(how, ": ", line);
}

}  // namespace

ProbeProcess::~ProbeProcess() {
  if (helper_ < 0) return;
  close(socket_);  // the helper reads the end of its input and exits
  close(stderr_);
  while (waitpid(helper_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

pid_t ProbeProcess::helper() const {
  std::lock_guard lock(mutex_);
  return helper_;
}

bool ProbeProcess::start() {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) return false;
  int stderr_pipe[2];
  if (pipe2(stderr_pipe, O_CLOEXEC) != 0) {
    close(sockets[0]);
    close(sockets[1]);
    return false;
  }
  const pid_t pid = fork();
  if (pid == 0) serve(work_, sockets[1], stderr_pipe[1]);
  close(sockets[1]);
  close(stderr_pipe[1]);
  if (pid < 0) {
    close(sockets[0]);
    close(stderr_pipe[0]);
    return false;
  }
  helper_ = pid;
  socket_ = sockets[0];
  stderr_ = stderr_pipe[0];
  return true;
}

std::string ProbeProcess::reap_and_describe() {
  close(socket_);
  int status = 0;
  pid_t reaped = -1;
  while ((reaped = waitpid(helper_, &status, 0)) < 0 && errno == EINTR) {
  }
  const auto exit_status = reaped == helper_ ? std::optional(status) : std::nullopt;
  // The helper is gone, so its stderr ends: read it to the end.
  std::string output;
  char buffer[512];
  for (;;) {
    const ssize_t got = read(stderr_, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    output.append(buffer, static_cast<std::size_t>(got));
    if (output.size() > kKeptOutput) output.erase(0, output.size() - kKeptOutput);
  }
  close(stderr_);
  helper_ = socket_ = stderr_ = -1;
  return describe(exit_status, output);
}

std::optional<std::string> ProbeProcess::death_on(std::span<const std::uint8_t> input) {
  std::lock_guard lock(mutex_);
  // A second try only for a helper that was gone before the request reached
  // it (killed from outside): that death is not the input's.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (helper_ < 0 && !start()) return std::nullopt;
    const std::uint64_t size = input.size();
    if (write_all(socket_, &size, sizeof size) && write_all(socket_, input.data(), input.size())) {
      char done = 0;
      if (read_all(socket_, &done, 1)) return std::nullopt;
      return reap_and_describe();
    }
    (void)reap_and_describe();
  }
  return std::nullopt;
}

}  // namespace warmpool::wasm::internal
