// The helper process text with element segments is parsed in first: whatever
// the work does to the helper, the caller survives, learns how it ended, and
// the next request gets a fresh helper.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "wasm/common/probe_process.hpp"

namespace warmpool::wasm::internal {
namespace {

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Dies the way its input says; returns for anything else.
void act_out(std::span<const std::uint8_t> input) {
  const std::string_view what(reinterpret_cast<const char*>(input.data()), input.size());
  if (what == "abort") {
    std::fputs("noise\nparser.cc:12: Assertion `x' failed.\n", stderr);
    std::abort();
  }
  if (what == "segv") ::raise(SIGSEGV);
  if (what == "exit 3") std::_Exit(3);
  if (what == "throw") throw std::runtime_error("left for the caller to report");
}

TEST(ProbeProcess, WorkThatReturnsOrThrowsLeavesNothingToReportAndKeepsTheHelper) {
  ProbeProcess probe(act_out);
  EXPECT_EQ(probe.helper(), -1);  // forked on first use
  EXPECT_EQ(probe.death_on(bytes("fine")), std::nullopt);
  const pid_t helper = probe.helper();
  ASSERT_GT(helper, 0);
  EXPECT_EQ(probe.death_on(bytes("throw")), std::nullopt);
  EXPECT_EQ(probe.death_on(bytes("")), std::nullopt);
  EXPECT_EQ(probe.helper(), helper);
}

TEST(ProbeProcess, AnAbortIsReportedWithTheLastLineWrittenToStderr) {
  ProbeProcess probe(act_out);
  EXPECT_EQ(probe.death_on(bytes("abort")),
            "aborted (SIGABRT): parser.cc:12: Assertion `x' failed.");
  EXPECT_EQ(probe.helper(), -1);
  // The next request gets a new helper.
  EXPECT_EQ(probe.death_on(bytes("fine")), std::nullopt);
  EXPECT_GT(probe.helper(), 0);
}

TEST(ProbeProcess, OtherDeathsAreNamed) {
  ProbeProcess probe(act_out);
  EXPECT_EQ(probe.death_on(bytes("segv")), "was killed by SIGSEGV");
  EXPECT_EQ(probe.death_on(bytes("exit 3")), "exited with status 3");
}

// With SIGCHLD ignored the kernel collects the helper's status itself: its
// death is still reported, and said to be of unknown cause.
TEST(ProbeProcess, ADeathWhoseStatusWasCollectedElsewhereIsStillReported) {
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &previous), 0);
  ProbeProcess probe(act_out);
  const auto death = probe.death_on(bytes("abort"));
  const auto after = probe.death_on(bytes("fine"));
  sigaction(SIGCHLD, &previous, nullptr);
  EXPECT_EQ(death,
            "died (its exit status was collected elsewhere in the process): "
            "parser.cc:12: Assertion `x' failed.");
  EXPECT_EQ(after, std::nullopt);
}

// A helper killed between requests is not the next input's fault.
TEST(ProbeProcess, AHelperKilledFromOutsideIsReplacedWithoutBlame) {
  ProbeProcess probe(act_out);
  ASSERT_EQ(probe.death_on(bytes("fine")), std::nullopt);
  const pid_t first = probe.helper();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // Wait until it is dead (a zombie until the probe reaps it) without reaping.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(first), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(probe.death_on(bytes("fine")), std::nullopt);
  EXPECT_NE(probe.helper(), first);
}

TEST(ProbeProcess, TheHelperKeepsNoneOfTheCallersFileDescriptors) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);  // no O_CLOEXEC: a plain fork would inherit both ends
  ProbeProcess probe(act_out);
  ASSERT_EQ(probe.death_on(bytes("fine")), std::nullopt);
  close(fds[1]);
  // Were the write end still open in the helper, this read would block.
  char byte = 0;
  EXPECT_EQ(read(fds[0], &byte, 1), 0);
  close(fds[0]);
}

// Several threads share one probe; some inputs kill its helper. Every answer
// belongs to its own input: no request sees another's death, none is lost.
TEST(ProbeProcessStress, ConcurrentRequestsEachGetTheirOwnVerdict) {
  ProbeProcess probe(act_out);
  constexpr int kThreads = 4;
  constexpr int kRequests = 150;
  std::atomic<int> deaths{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        const bool fatal = (i + t) % 25 == 0;
        const auto verdict = probe.death_on(bytes(fatal ? "abort" : "fine"));
        if (verdict.has_value() != fatal) wrong.fetch_add(1);
        if (verdict.has_value()) deaths.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  int expected_deaths = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kRequests; ++i) expected_deaths += (i + t) % 25 == 0;
  }
  EXPECT_EQ(deaths.load(), expected_deaths);
}

}  // namespace
}  // namespace warmpool::wasm::internal
