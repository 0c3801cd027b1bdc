// The engine-agnostic WASI subset, called the way an engine calls it: raw
// arguments and a span of guest memory. (wabt_instance_test.cpp runs the same
// functions from real guests.)
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "wasm/common/wasi.hpp"

namespace warmpool::wasm::internal {
namespace {

constexpr std::int32_t kFault = 21;
constexpr std::int32_t kBadf = 8;

class Wasi : public ::testing::Test {
 protected:
  WasiResult call(std::string_view name, std::vector<std::uint64_t> args) {
    const WasiFunction* f = find_wasi_function(name);
    EXPECT_NE(f, nullptr) << name;
    EXPECT_EQ(args.size(), f->type.params.size()) << name;
    return f->handler(context, memory, args);
  }
  void put_u32(std::size_t at, std::uint32_t v) { std::memcpy(memory.data() + at, &v, 4); }
  std::uint32_t u32_at(std::size_t at) const {
    std::uint32_t v;
    std::memcpy(&v, memory.data() + at, 4);
    return v;
  }
  std::uint64_t u64_at(std::size_t at) const {
    std::uint64_t v;
    std::memcpy(&v, memory.data() + at, 8);
    return v;
  }

  WasiContext context{.program_name = "plugin.wasm", .stdout_text = {}, .stderr_text = {}};
  std::vector<std::uint8_t> memory = std::vector<std::uint8_t>(1024);
};

TEST_F(Wasi, ProvidesExactlyTheDocumentedSubset) {
  std::vector<std::string_view> names;
  for (const WasiFunction& f : wasi_functions()) names.push_back(f.name);
  std::ranges::sort(names);
  EXPECT_EQ(names,
            (std::vector<std::string_view>{
                "args_get", "args_sizes_get", "clock_time_get", "environ_get", "environ_sizes_get",
                "fd_close", "fd_fdstat_get", "fd_seek", "fd_write", "proc_exit", "random_get"}));
  EXPECT_EQ(find_wasi_function("path_open"), nullptr);
}

TEST_F(Wasi, FdWriteGathersIovecsIntoTheRightStream) {
  std::memcpy(memory.data() + 100, "hello ", 6);
  std::memcpy(memory.data() + 200, "world", 5);
  put_u32(0, 100);
  put_u32(4, 6);
  put_u32(8, 200);
  put_u32(12, 5);
  EXPECT_EQ(call("fd_write", {1, 0, 2, 16}), 0);
  EXPECT_EQ(u32_at(16), 11u);
  EXPECT_EQ(context.stdout_text, "hello world");
  EXPECT_EQ(call("fd_write", {2, 8, 1, 16}), 0);
  EXPECT_EQ(context.stderr_text, "world");
  EXPECT_EQ(call("fd_write", {5, 0, 1, 16}), kBadf);
}

TEST_F(Wasi, OutOfBoundsPointersFaultInsteadOfTouchingHostMemory) {
  put_u32(0, 1000);
  put_u32(4, 100);  // runs past the 1024-byte memory
  EXPECT_EQ(call("fd_write", {1, 0, 1, 16}), kFault);
  EXPECT_EQ(call("fd_write", {1, 1020, 1, 16}), kFault);        // iovec array itself
  EXPECT_EQ(call("fd_write", {1, 0, 0x20000000, 16}), kFault);  // absurd iovec count
  EXPECT_EQ(call("args_sizes_get", {0xFFFFFFFF, 0}), kFault);
  EXPECT_EQ(call("random_get", {1000, 100}), kFault);
  EXPECT_EQ(call("clock_time_get", {0, 0, 1020}), kFault);
  EXPECT_TRUE(context.stdout_text.empty());
}

TEST_F(Wasi, ArgvIsTheModuleName) {
  EXPECT_EQ(call("args_sizes_get", {0, 4}), 0);
  EXPECT_EQ(u32_at(0), 1u);
  EXPECT_EQ(u32_at(4), context.program_name.size() + 1);
  EXPECT_EQ(call("args_get", {8, 64}), 0);
  EXPECT_EQ(u32_at(8), 64u);
  EXPECT_STREQ(reinterpret_cast<const char*>(memory.data() + 64), "plugin.wasm");
  EXPECT_EQ(call("environ_sizes_get", {0, 4}), 0);
  EXPECT_EQ(u32_at(0), 0u);
}

TEST_F(Wasi, StdioLooksLikeATerminalSoOutputIsLineBuffered) {
  EXPECT_EQ(call("fd_fdstat_get", {1, 0}), 0);
  EXPECT_EQ(memory[0], 2);  // character device
  EXPECT_EQ(call("fd_fdstat_get", {3, 0}), kBadf);
  EXPECT_EQ(call("fd_seek", {1, 0, 0, 0}), 70);  // ESPIPE
  EXPECT_EQ(call("fd_close", {1}), 0);
}

TEST_F(Wasi, ClocksAndRandomFillGuestMemory) {
  EXPECT_EQ(call("clock_time_get", {1, 0, 0}), 0);
  const std::uint64_t first = u64_at(0);
  EXPECT_EQ(call("clock_time_get", {1, 0, 0}), 0);
  EXPECT_GE(u64_at(0), first);
  EXPECT_EQ(call("clock_time_get", {9, 0, 0}), 28);  // EINVAL

  EXPECT_EQ(call("random_get", {100, 64}), 0);
  EXPECT_TRUE(
      std::any_of(memory.begin() + 100, memory.begin() + 164, [](auto b) { return b != 0; }));
}

TEST_F(Wasi, ProcExitEndsTheCallWithItsCode) {
  WasiResult r = call("proc_exit", {3});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 3);
}

TEST_F(Wasi, CapturedOutputIsCapped) {
  std::vector<std::uint8_t> big(1 << 20);
  put_u32(0, 64);
  put_u32(4, static_cast<std::uint32_t>(big.size() - 64));
  memory.swap(big);
  std::memcpy(memory.data(), big.data(), 8);
  std::int32_t last = 0;
  for (std::size_t i = 0; i < kMaxCapturedOutput / (memory.size() - 64) + 2 && last == 0; ++i) {
    last = *call("fd_write", {1, 0, 1, 16});
  }
  EXPECT_EQ(last, 51);  // ENOSPC
  EXPECT_LE(context.stdout_text.size(), kMaxCapturedOutput);
}

}  // namespace
}  // namespace warmpool::wasm::internal
