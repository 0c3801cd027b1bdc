#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace warmpool::cli::test {
namespace {

using Clock = std::chrono::steady_clock;

pid_t spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, int err_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Reads what is available from the fds into the strings; returns false when
// both are at EOF.
bool drain(int& out_fd, std::string& out, int& err_fd, std::string& err, int timeout_ms) {
  pollfd fds[2];
  int n = 0;
  if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
  if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
  if (n == 0) return false;
  int ready = poll(fds, static_cast<nfds_t>(n), timeout_ms);
  if (ready <= 0) return true;
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[65536];
    ssize_t got = read(fds[i].fd, buf, sizeof buf);
    int& fd = fds[i].fd == out_fd ? out_fd : err_fd;
    std::string& dst = fds[i].fd == out_fd ? out : err;
    if (got > 0) {
      dst.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      close(fd);
      fd = -1;
    }
  }
  return true;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long>(0, left.count()));
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                          std::chrono::milliseconds limit) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = spawn(argv, in_pipe[0], out_pipe[1], err_pipe[1]);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Small inputs only: written before reading so it cannot deadlock on a full pipe
  // as long as it fits the pipe buffer (64 KiB).
  if (!stdin_data.empty()) {
    ssize_t ignored = write(in_pipe[1], stdin_data.data(), stdin_data.size());
    (void)ignored;
  }
  close(in_pipe[1]);

  ProcessResult r;
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  auto deadline = Clock::now() + limit;
  while ((out_fd >= 0 || err_fd >= 0) && Clock::now() < deadline) {
    drain(out_fd, r.out, err_fd, r.err, std::min(remaining_ms(deadline), 100));
  }
  if (out_fd >= 0 || err_fd >= 0) {
    r.timed_out = true;
    kill(pid, SIGKILL);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = spawn(argv, devnull, out_pipe[1], err_pipe[1]);
  close(devnull);
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

ChildProcess::~ChildProcess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void ChildProcess::pump(std::chrono::milliseconds limit) {
  drain(out_fd_, out_, err_fd_, err_, static_cast<int>(limit.count()));
}

std::optional<std::string> ChildProcess::read_stdout_line(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    if (auto nl = out_.find('\n'); nl != std::string::npos) {
      std::string line = out_.substr(0, nl);
      out_.erase(0, nl + 1);
      return line;
    }
    if (out_fd_ < 0 || Clock::now() >= deadline) return std::nullopt;
    pump(std::chrono::milliseconds(std::min(remaining_ms(deadline), 100)));
  }
}

void ChildProcess::signal(int sig) {
  if (!exited_) kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (!exited_) {
    pid_t got = waitpid(pid_, &status_, WNOHANG);
    if (got == pid_) {
      exited_ = true;
      break;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    if (out_fd_ >= 0 || err_fd_ >= 0) {
      pump(std::chrono::milliseconds(20));
    } else {
      usleep(20'000);
    }
  }
  while (out_fd_ >= 0 || err_fd_ >= 0) pump(std::chrono::milliseconds(100));
  if (!WIFEXITED(status_)) return std::nullopt;
  return WEXITSTATUS(status_);
}

}  // namespace warmpool::cli::test
