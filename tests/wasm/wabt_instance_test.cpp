// wabt Instance: numeric and bytes calls, WASI from real guests, traps and
// health, reset.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "test_support.hpp"
#include "warmpool/wasm/wabt.hpp"

namespace warmpool::wasm::wabt {
namespace {

using testing::bytes_of;
using testing::data_file;
using testing::plugin_file;

Instance instance_of(const std::filesystem::path& path, const Limits& limits = {}) {
  auto module = Module::load_file(path, limits);
  EXPECT_TRUE(module) << module.error();
  auto instance = Instance::instantiate(*module);
  EXPECT_TRUE(instance) << instance.error();
  return std::move(*instance);
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Runs `check` in a child process whose address space is held to 1 GiB and
// says whether it returned true there (exit 0) rather than false or a crash.
bool holds_with_1_gib_of_address_space(const std::function<bool()>& check) {
  const pid_t child = fork();
  if (child == 0) {
    const rlimit one_gib{1ull << 30, 1ull << 30};
    setrlimit(RLIMIT_AS, &one_gib);
    try {
      _exit(check() ? 0 : 1);
    } catch (...) {  // an exception escaping wabt: the crash this guards against
      _exit(2);
    }
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The interpreter allocates memories whole and grows them in place; when the
// allocation fails, the instantiation or the call fails, never the host (a
// std::bad_alloc out of wabt used to end the process).
TEST(WabtInstance, RunningOutOfMemoryIsAnErrorNotACrash) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers reserve the address space and report running out themselves";
#endif
  auto four_gib = Module::compile(bytes_of("(module (memory 65536))"), {}, "big.wat");
  ASSERT_TRUE(four_gib) << four_gib.error();
  EXPECT_TRUE(holds_with_1_gib_of_address_space([&] {
    auto instance = Instance::instantiate(*four_gib);
    return !instance && instance.error().kind() == ErrorKind::instantiate &&
           instance.error().message().find("ran out of memory") != std::string::npos;
  }));
  auto grower = Module::compile(bytes_of(R"((module (memory 1)
    (func (export "grow") (result i32) (memory.grow (i32.const 65535)))))"),
                                {}, "grow.wat");
  ASSERT_TRUE(grower) << grower.error();
  EXPECT_TRUE(holds_with_1_gib_of_address_space([&] {
    auto instance = Instance::instantiate(*grower);
    if (!instance) return false;
    auto grown = instance->call("grow", {});
    // wabt reports a failed grow as -1 itself, or the allocation throws and
    // the call ends as a trap; either way the process goes on.
    return grown ? grown->at(0) == Value{std::int32_t{-1}}
                 : grown.error().message().find("ran out of memory") != std::string::npos;
  }));
}

TEST(WabtInstance, CallsNumericExportsOfEveryType) {
  Instance numbers = instance_of(data_file("numbers.wat"));
  EXPECT_EQ(numbers.call("add_i32", std::vector<Value>{std::int32_t{2}, std::int32_t{-5}}).value(),
            std::vector<Value>{std::int32_t{-3}});
  EXPECT_EQ(
      numbers.call("mul_i64", std::vector<Value>{std::int64_t{1} << 40, std::int64_t{3}}).value(),
      std::vector<Value>{std::int64_t{3} << 40});
  EXPECT_EQ(numbers.call("half_f32", std::vector<Value>{3.0f}).value(), std::vector<Value>{1.5f});
  EXPECT_EQ(numbers.call("sqrt_f64", std::vector<Value>{2.25}).value(), std::vector<Value>{1.5});
  EXPECT_EQ(numbers.call("divmod", std::vector<Value>{std::int32_t{7}, std::int32_t{2}}).value(),
            (std::vector<Value>{std::int32_t{3}, std::int32_t{1}}));

  Instance fib = instance_of(plugin_file("fib.wasm"));
  EXPECT_EQ(fib.call("fib", std::vector<Value>{std::int32_t{20}}).value(),
            std::vector<Value>{std::int64_t{6765}});
  EXPECT_TRUE(fib.healthy());
}

TEST(WabtInstance, BadCallsAreAbiErrorsThatLeaveTheInstanceHealthy) {
  Instance numbers = instance_of(data_file("numbers.wat"));
  auto missing = numbers.call("add", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::abi);
  EXPECT_EQ(missing.error().message(),
            "numbers.wat: export 'add' not found (exports: add_i32, mul_i64, half_f32, sqrt_f64, "
            "divmod)");

  auto wrong_count = numbers.call("add_i32", std::vector<Value>{std::int32_t{1}});
  ASSERT_FALSE(wrong_count);
  EXPECT_EQ(wrong_count.error().kind(), ErrorKind::abi);
  EXPECT_NE(wrong_count.error().message().find("(i32, i32) -> (i32)"), std::string::npos)
      << wrong_count.error();

  auto wrong_type = numbers.call("add_i32", std::vector<Value>{std::int64_t{1}, std::int32_t{1}});
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().kind(), ErrorKind::abi);

  auto not_bytes = numbers.call_bytes("add_i32", {});
  ASSERT_FALSE(not_bytes);
  EXPECT_EQ(not_bytes.error().kind(), ErrorKind::abi);
  EXPECT_TRUE(numbers.healthy());
}

TEST(WabtInstance, BytesCallsRoundTripThroughRealPlugins) {
  Instance echo = instance_of(plugin_file("echo.wasm"));
  const std::string big(100'000, 'x');
  for (std::string_view input :
       {std::string_view("hello"), std::string_view(), std::string_view(big)}) {
    auto out = echo.call_bytes("echo", as_bytes(input));
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(out->output, input);
  }

  Instance upper = instance_of(plugin_file("upper.wasm"));
  auto shouted = upper.call_bytes("upper", as_bytes("Hello, wasm!"));
  ASSERT_TRUE(shouted) << shouted.error();
  EXPECT_EQ(shouted->output, "HELLO, WASM!");
}

TEST(WabtInstance, CapturesWhatTheGuestPrintsPerCall) {
  Instance hello = instance_of(plugin_file("hello.wasm"));
  auto out = hello.call_bytes("hello", as_bytes("pool"));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->output, "Hello, pool!");
  EXPECT_EQ(out->stdout_text, "Hello, pool!\n");
  EXPECT_EQ(hello.last_stdout(), "Hello, pool!\n");
  auto again = hello.call_bytes("hello", {});
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->stdout_text, "Hello, world!\n");  // not accumulated across calls

  Instance wasi = instance_of(data_file("wasi.wat"));
  EXPECT_EQ(wasi.call("speak", {}).value(), std::vector<Value>{std::int32_t{4}});
  EXPECT_EQ(wasi.last_stdout(), "out\n");
  EXPECT_EQ(wasi.last_stderr(), "err\n");
  EXPECT_EQ(wasi.call("bad_write", {}).value(), std::vector<Value>{std::int32_t{21}});  // EFAULT
  EXPECT_EQ(wasi.call("argv0_len", {}).value(),
            std::vector<Value>{static_cast<std::int32_t>(std::string("wasi.wat").size() + 1)});
}

// As on V8: proc_exit(0) ends the call successfully and spends the instance (its C runtime
// has run its exit handlers).
TEST(WabtInstance, ProcExitZeroSucceedsEmptyAndSpendsNonZeroFails) {
  Instance spent = instance_of(data_file("wasi.wat"));
  auto clean = spent.call("exit", std::vector<Value>{std::int32_t{0}});
  ASSERT_TRUE(clean) << clean.error();
  EXPECT_TRUE(clean->empty());
  EXPECT_FALSE(spent.healthy());

  Instance wasi = instance_of(data_file("wasi.wat"));
  auto failed = wasi.call("exit", std::vector<Value>{std::int32_t{3}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind(), ErrorKind::trap);
  EXPECT_EQ(failed.error().message(), "wasi.wat: exit: exited with code 3");
  EXPECT_FALSE(wasi.healthy());
}

TEST(WabtInstance, BytesAbiViolationsNameTheExport) {
  Instance abi = instance_of(data_file("abi.wat"));
  auto echoed = abi.call_bytes("echo", as_bytes("abc"));
  ASSERT_TRUE(echoed) << echoed.error();
  EXPECT_EQ(echoed->output, "abc");
  // Input and output are the same buffer: freed once.
  EXPECT_EQ(abi.call("frees", {}).value(), std::vector<Value>{std::int32_t{1}});

  auto past_end = abi.call_bytes("past_end", as_bytes("abc"));
  ASSERT_FALSE(past_end);
  EXPECT_EQ(past_end.error().kind(), ErrorKind::abi);
  EXPECT_NE(past_end.error().message().find("past_end"), std::string::npos) << past_end.error();
  EXPECT_NE(past_end.error().message().find("outside memory"), std::string::npos);

  auto not_bytes = abi.call_bytes("not_bytes", as_bytes("abc"));
  ASSERT_FALSE(not_bytes);
  EXPECT_EQ(not_bytes.error().kind(), ErrorKind::abi);
  EXPECT_NE(not_bytes.error().message().find("not_bytes"), std::string::npos);

  Instance no_alloc = instance_of(data_file("numbers.wat"));
  auto refused = no_alloc.call_bytes("add_i32", as_bytes("abc"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::abi);
}

TEST(WabtInstance, TrapsPoisonTheInstanceButNotItsSiblings) {
  auto module = Module::load_file(plugin_file("hostile.wasm"));
  ASSERT_TRUE(module) << module.error();
  auto victim = Instance::instantiate(*module);
  auto sibling = Instance::instantiate(*module);
  ASSERT_TRUE(victim && sibling);

  auto trapped = victim->call_bytes("trap", {});
  ASSERT_FALSE(trapped);
  EXPECT_EQ(trapped.error().kind(), ErrorKind::trap);
  EXPECT_NE(trapped.error().message().find("hostile.wasm: trap: unreachable"), std::string::npos)
      << trapped.error();
  EXPECT_FALSE(victim->healthy());
  EXPECT_FALSE(victim->reset());

  auto recursed = sibling->call_bytes("recurse", {});
  ASSERT_FALSE(recursed);
  EXPECT_EQ(recursed.error().kind(), ErrorKind::trap);
  EXPECT_FALSE(sibling->healthy());

  auto fresh = Instance::instantiate(*module);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->call_bytes("echo", as_bytes("ok"))->output, "ok");
}

TEST(WabtInstance, ResetRestoresMemoryGlobalsAndTables) {
  Instance state = instance_of(data_file("state.wat"));
  EXPECT_EQ(state.call("slot", {}).value(), std::vector<Value>{std::int32_t{1}});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(state.call("bump", {}));
  EXPECT_EQ(state.call("calls", {}).value(), std::vector<Value>{std::int32_t{3}});
  EXPECT_EQ(state.call("stored", {}).value(), std::vector<Value>{std::int32_t{3}});
  EXPECT_EQ(state.call("slot", {}).value(), std::vector<Value>{std::int32_t{2}});

  ASSERT_TRUE(state.reset());
  EXPECT_EQ(state.call("calls", {}).value(), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(state.call("stored", {}).value(), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(state.call("slot", {}).value(), std::vector<Value>{std::int32_t{1}});

  Instance counter = instance_of(plugin_file("counter.wasm"));
  for (int i = 1; i <= 20; ++i) {
    ASSERT_EQ(counter.call("increment", {}).value(), std::vector<Value>{std::int32_t{i}});
  }
  ASSERT_TRUE(counter.reset());
  EXPECT_EQ(counter.call("get", {}).value(), std::vector<Value>{std::int32_t{0}});
  EXPECT_EQ(counter.call("increment", {}).value(), std::vector<Value>{std::int32_t{1}});
}

// reset() must put back everything a guest can change, wherever it is: bytes
// in chunks that started zero and in chunks a data segment filled, a global
// no export exposes, and segments dropped with data.drop / elem.drop.
TEST(WabtInstance, ResetRestoresEveryByteHiddenGlobalsAndDroppedSegments) {
  Instance instance = instance_of(data_file("reset.wat"));
  auto call = [&](std::string_view name, std::vector<Value> args = {}) {
    auto r = instance.call(name, args);
    EXPECT_TRUE(r) << r.error();
    return r ? *r : std::vector<Value>{};
  };
  const auto clean = call("digest");
  EXPECT_EQ(clean, instance_of(data_file("reset.wat")).call("digest", {}).value());

  constexpr std::int32_t kEnd = 2 * 65536;
  const std::int32_t addresses[] = {0, 1, 4095, 4096, 65535, 65536, 70000, 70012, kEnd - 1};
  for (std::int32_t addr : addresses) {  // one byte at a time ...
    call("poke", {addr, std::int32_t{0xAB}});
    ASSERT_NE(call("digest"), clean) << addr;
    ASSERT_TRUE(instance.reset());
    EXPECT_EQ(call("digest"), clean) << addr;
  }
  for (std::int32_t addr : addresses) call("poke", {addr, std::int32_t{0x5A}});  // ... and all
  call("set_hidden", {std::int64_t{42}});
  call("drop_segments");
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(call("digest"), clean);
  EXPECT_EQ(call("hidden"), std::vector<Value>{std::int64_t{7}});
  EXPECT_EQ(call("use_segments"), std::vector<Value>{std::int32_t{5}});  // traps if still dropped
  EXPECT_TRUE(instance.healthy());
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(call("digest"), clean);
}

TEST(WabtInstance, ResetFailsOnceMemoryGrew) {
  Instance state = instance_of(data_file("state.wat"));
  ASSERT_TRUE(state.reset());  // nothing changed: trivially possible
  EXPECT_EQ(state.call("grow", std::vector<Value>{std::int32_t{1}}).value(),
            std::vector<Value>{std::int32_t{1}});
  EXPECT_FALSE(state.reset());
}

TEST(WabtInstance, InstancesDoNotShareState) {
  auto module = Module::load_file(plugin_file("counter.wasm"));
  ASSERT_TRUE(module);
  auto a = Instance::instantiate(*module);
  auto b = Instance::instantiate(*module);
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a->call("increment", {}));
  EXPECT_EQ(b->call("increment", {}).value(), std::vector<Value>{std::int32_t{1}});
  Instance moved = std::move(*a);  // moving keeps the state (and the host bindings) intact
  EXPECT_EQ(moved.call("increment", {}).value(), std::vector<Value>{std::int32_t{6}});
}

TEST(WabtInstance, LifecycleReflectsHealthAndReset) {
  Lifecycle<Instance> lc = lifecycle();
  ASSERT_TRUE(lc.is_healthy && lc.reset);
  Instance trap = instance_of(plugin_file("trap.wasm"));
  EXPECT_TRUE(lc.is_healthy(trap));
  EXPECT_TRUE(lc.reset(trap));
  ASSERT_FALSE(trap.call("trap", {}));
  EXPECT_FALSE(lc.is_healthy(trap));
  EXPECT_FALSE(lc.reset(trap));
}

}  // namespace
}  // namespace warmpool::wasm::wabt
