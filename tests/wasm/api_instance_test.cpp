// Instances on every engine: numeric and bytes calls of real plugins, WASI output, proc_exit,
// bytes-ABI violations, traps, and instances that never share state.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "api_test_support.hpp"
#include "test_support.hpp"

namespace warmpool::wasm {
namespace {

using testing::as_bytes;
using testing::data_file;
using testing::EngineTest;
using testing::plugin_file;

class ApiInstance : public EngineTest {};
WARMPOOL_ON_EVERY_ENGINE(ApiInstance);

TEST_P(ApiInstance, CallsNumericExportsOfEveryType) {
  Instance numbers = instance_of(data_file("numbers.wat"));
  EXPECT_EQ(numbers.call("add_i32", std::vector<Value>{std::int32_t{2}, std::int32_t{-5}}).value(),
            std::vector<Value>{std::int32_t{-3}});
  EXPECT_EQ(numbers
                .call("add_i32",
                      std::vector<Value>{std::numeric_limits<std::int32_t>::max(), std::int32_t{1}})
                .value(),
            std::vector<Value>{std::numeric_limits<std::int32_t>::min()});
  // Beyond 2^53: exact only if i64 never travels as a double (V8 passes a BigInt).
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  EXPECT_EQ(numbers.call("mul_i64", std::vector<Value>{big, std::int64_t{-3}}).value(),
            std::vector<Value>{big * -3});
  EXPECT_EQ(numbers.call("half_f32", std::vector<Value>{3.0f}).value(), std::vector<Value>{1.5f});
  EXPECT_EQ(numbers.call("sqrt_f64", std::vector<Value>{2.25}).value(), std::vector<Value>{1.5});
  EXPECT_EQ(numbers.call("divmod", std::vector<Value>{std::int32_t{7}, std::int32_t{2}}).value(),
            (std::vector<Value>{std::int32_t{3}, std::int32_t{1}}));

  Instance fib = instance_of(plugin_file("fib.wasm"));
  EXPECT_EQ(fib.call("fib", std::vector<Value>{std::int32_t{25}}).value(),
            std::vector<Value>{std::int64_t{75025}});
  EXPECT_TRUE(fib.healthy());
}

TEST_P(ApiInstance, BadCallsAreAbiErrorsThatLeaveTheInstanceHealthy) {
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
  EXPECT_EQ(wrong_count.error().message(),
            "numbers.wat: add_i32: expects (i32, i32) -> (i32), called with (i32)");

  auto wrong_type = numbers.call("add_i32", std::vector<Value>{std::int64_t{1}, std::int32_t{1}});
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().kind(), ErrorKind::abi);

  auto not_bytes = numbers.call_bytes("add_i32", {});
  ASSERT_FALSE(not_bytes);
  EXPECT_EQ(not_bytes.error().kind(), ErrorKind::abi);
  EXPECT_TRUE(numbers.healthy());
}

TEST_P(ApiInstance, BytesCallsRoundTripThroughRealPlugins) {
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

TEST_P(ApiInstance, CapturesWhatTheGuestPrintsPerCall) {
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

constexpr std::string_view kExit = R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "wp_alloc") (param i32) (result i32) i32.const 16)
  (func (export "quit_bytes") (param i32 i32) (result i64) (call $exit (i32.const 0)) unreachable)))";

// proc_exit(0) ends the call successfully and spends the instance (its C
// runtime has run its exit handlers); any other code fails the call.
TEST_P(ApiInstance, ProcExitZeroSucceedsEmptyAndSpendsNonZeroFails) {
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

  Instance bytes_exit = instantiate(kExit, {}, "exit.wasm");
  auto out = bytes_exit.call_bytes("quit_bytes", as_bytes("in"));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->output, "");
  EXPECT_FALSE(bytes_exit.healthy());
}

TEST_P(ApiInstance, BytesAbiViolationsNameTheExport) {
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

  Instance no_alloc = instantiate(R"((module (memory (export "memory") 1)
      (func (export "f") (param i32 i32) (result i64) i64.const 0)))",
                                  {}, "noalloc.wasm");
  auto refused = no_alloc.call_bytes("f", as_bytes("x"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::abi);
  EXPECT_NE(refused.error().message().find("wp_alloc"), std::string::npos) << refused.error();

  Instance liar = instantiate(R"((module (memory (export "memory") 1)
      (func (export "wp_alloc") (param i32) (result i32) i32.const 16)
      (func (export "f") (param i32 i32) (result i64) i64.const 0x0000fff000000100)))",
                              {}, "liar.wasm");
  auto outside = liar.call_bytes("f", as_bytes("x"));
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().kind(), ErrorKind::abi);
  EXPECT_NE(outside.error().message().find("outside memory of 65536 bytes"), std::string::npos)
      << outside.error();
}

TEST_P(ApiInstance, TrapsPoisonTheInstanceButNotItsSiblings) {
  LinkedModule hostile = load(plugin_file("hostile.wasm"));
  Instance victim = instantiate(hostile);
  Instance sibling = instantiate(hostile);
  Instance bystander = instance_of(plugin_file("echo.wasm"));

  auto trapped = victim.call_bytes("trap", {});
  ASSERT_FALSE(trapped);
  EXPECT_EQ(trapped.error().kind(), ErrorKind::trap);
  EXPECT_TRUE(trapped.error().message().starts_with("hostile.wasm: trap: ")) << trapped.error();
  EXPECT_NE(trapped.error().message().find("unreachable"), std::string::npos) << trapped.error();
  EXPECT_FALSE(victim.healthy());
  EXPECT_FALSE(victim.reset());
  auto again = victim.call_bytes("echo", as_bytes("x"));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("create a new one"), std::string::npos) << again.error();

  auto recursed = sibling.call_bytes("recurse", {});
  ASSERT_FALSE(recursed);
  EXPECT_EQ(recursed.error().kind(), ErrorKind::trap) << recursed.error();
  EXPECT_FALSE(sibling.healthy());

  EXPECT_EQ(instantiate(hostile).call_bytes("echo", as_bytes("ok"))->output, "ok");
  auto fine = bystander.call_bytes("echo", as_bytes("still here"));
  ASSERT_TRUE(fine) << fine.error();
  EXPECT_EQ(fine->output, "still here");
}

TEST_P(ApiInstance, StackOverflowIsATrap) {
  Instance deep = instantiate(R"((module (func $f (export "f") (call $f))))", {}, "deep.wasm");
  auto r = deep.call("f", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::trap) << r.error();
  EXPECT_FALSE(deep.healthy());
}

TEST_P(ApiInstance, InstancesDoNotShareState) {
  LinkedModule counter = load(plugin_file("counter.wasm"));
  Instance a = instantiate(counter);
  Instance b = instantiate(counter);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.call("increment", {}));
  EXPECT_EQ(b.call("increment", {}).value(), std::vector<Value>{std::int32_t{1}});
  Instance moved = std::move(a);  // moving keeps the state (and the host bindings) intact
  EXPECT_EQ(moved.call("increment", {}).value(), std::vector<Value>{std::int32_t{6}});
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

// wabt's interpreter allocates memories whole and grows them in place; when
// the allocation fails, the instantiation or the call fails, never the host (a
// std::bad_alloc out of wabt used to end the process). Only wabt: V8 reserves
// its address space up front and cannot start within 1 GiB.
TEST(WabtInstance, RunningOutOfMemoryIsAnErrorNotACrash) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers reserve the address space and report running out themselves";
#endif
  auto compile = [](std::string_view wat, const char* name) {
    auto module = Module::compile(Engine::wabt(), as_bytes(wat), {}, name);
    if (!module) throw std::runtime_error(module.error().message());
    return *Linker().link(*module);
  };
  const LinkedModule four_gib = compile("(module (memory 65536))", "big.wat");
  EXPECT_TRUE(holds_with_1_gib_of_address_space([&] {
    auto instance = Instance::instantiate(four_gib);
    return !instance && instance.error().kind() == ErrorKind::instantiate &&
           instance.error().message().find("ran out of memory") != std::string::npos;
  }));
  const LinkedModule grower = compile(R"((module (memory 1)
    (func (export "grow") (result i32) (memory.grow (i32.const 65535)))))",
                                      "grow.wat");
  EXPECT_TRUE(holds_with_1_gib_of_address_space([&] {
    auto instance = Instance::instantiate(grower);
    if (!instance) return false;
    auto grown = instance->call("grow", {});
    // wabt reports a failed grow as -1 itself, or the allocation throws and
    // the call ends as a trap; either way the process goes on.
    return grown ? grown->at(0) == Value{std::int32_t{-1}}
                 : grown.error().message().find("ran out of memory") != std::string::npos;
  }));
}

}  // namespace
}  // namespace warmpool::wasm
