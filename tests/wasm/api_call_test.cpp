// The embedding API on every engine: engines, modules, numeric, typed and bytes calls, memory,
// and how a stopped instance is refused.
#include <string>
#include <vector>

#include "api_test_support.hpp"
#include "test_support.hpp"

namespace warmpool::wasm {
namespace {

using testing::as_bytes;
using testing::EngineTest;

constexpr std::string_view kNumbers = R"((module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
             (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))))
  (func (export "wide") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func (export "pair") (result i32 i64) (i32.const 7) (i64.const -8))
  (func (export "nothing"))
  (func (export "boom") unreachable)
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))))";

TEST(Engine, ListsWhatThisBuildHasAndFindsEachByName) {
  auto names = Engine::available();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "wabt");
  for (auto name : names) EXPECT_EQ(Engine::named(name)->name(), name);
  EXPECT_FALSE(Engine::named("spidermonkey"));
  EXPECT_EQ(Engine::wabt(), *Engine::named("wabt"));
}

class ApiCall : public EngineTest {};

TEST_P(ApiCall, BytesThatAreNeitherBinaryNorTextSaySo) {
  auto elf = Module::compile(engine(),
                             as_bytes("\x7f"
                                      "ELF\x02\x01\x01"),
                             {}, "x.wasm");
  ASSERT_FALSE(elf);
  EXPECT_EQ(elf.error().kind(), ErrorKind::compile);
  EXPECT_EQ(elf.error().message(),
            "x.wasm: neither a WebAssembly binary (no \\0asm magic; it starts with 7f 45 4c 46) "
            "nor WebAssembly text (which starts with '(')");
  // Comments may come first in text, nested ones too.
  auto commented = Module::compile(
      engine(), as_bytes(";; a plugin\n(; block (; nested ;) ;)\n (module)"), {}, "c.wat");
  EXPECT_TRUE(commented) << commented.error();
  // Text that starts like text keeps the parser's own position.
  auto broken = Module::compile(engine(), as_bytes("(module (func (result i32)))"), {}, "b.wat");
  ASSERT_FALSE(broken);
  EXPECT_TRUE(broken.error().message().starts_with("b.wat:1:")) << broken.error();
}
WARMPOOL_ON_EVERY_ENGINE(ApiCall);

TEST_P(ApiCall, NumericCallsOfEveryTypeByName) {
  Instance instance = instantiate(kNumbers);
  EXPECT_EQ(instance.call("add", std::vector<Value>{2, 40}).value(), std::vector<Value>{42});
  EXPECT_EQ(instance.call("mix", std::vector<Value>{1, std::int64_t{2}, 0.5f, 0.25}).value(),
            std::vector<Value>{3.75});
  EXPECT_EQ(instance.call("wide", std::vector<Value>{std::int64_t{1} << 40}).value(),
            std::vector<Value>{std::int64_t{3} << 40});
  EXPECT_EQ(instance.call("pair", {}).value(), (std::vector<Value>{7, std::int64_t{-8}}));
  EXPECT_TRUE(instance.call("nothing", {}).value().empty());
  EXPECT_EQ(instance.module().engine(), engine());
}

TEST_P(ApiCall, TypedHandlesAreResolvedOnceAndWorkOnEveryInstanceOfTheModule) {
  Module module = compile(kNumbers);
  LinkedModule linked = link(Linker(), module);
  auto add = module.typed<std::int32_t(std::int32_t, std::int32_t)>("add");
  auto mix = module.typed<double(std::int32_t, std::int64_t, float, double)>("mix");
  auto nothing = module.typed<void()>("nothing");
  ASSERT_TRUE(add && mix && nothing);
  Instance a = instantiate(linked);
  Instance b = instantiate(linked);
  EXPECT_EQ(a.call(*add, 1, 2).value(), 3);
  EXPECT_EQ(b.call(*add, -1, -2).value(), -3);
  EXPECT_EQ(a.call(*mix, 1, 2, 0.5f, 0.25).value(), 3.75);
  EXPECT_TRUE(a.call(*nothing));

  auto wrong = module.typed<std::int64_t(std::int32_t, std::int32_t)>("add");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind(), ErrorKind::abi);
  EXPECT_EQ(wrong.error().message(),
            "test.wat: export 'add' has type (i32, i32) -> (i32), not (i32, i32) -> (i64)");
  EXPECT_EQ(
      module.function("sub").error().message(),
      "test.wat: export 'sub' not found (exports: add, mix, wide, pair, nothing, boom, peek)");

  Module other = compile(kNumbers, {}, "other.wat");
  Instance stranger = instantiate(link(Linker(), other));
  auto refused = stranger.call(*add, 1, 2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::abi);
  EXPECT_EQ(refused.error().message(),
            "other.wat: add: the handle is of module 'test.wat', not of this instance's");
}

TEST_P(ApiCall, BadArgumentsAreRefusedWithOneMessageOnEveryEngine) {
  Instance instance = instantiate(kNumbers);
  auto r = instance.call("add", std::vector<Value>{std::int64_t{1}, 2});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::abi);
  EXPECT_EQ(r.error().message(),
            "test.wat: add: expects (i32, i32) -> (i32), called with (i64, i32)");
  EXPECT_TRUE(instance.healthy());
}

TEST_P(ApiCall, APoisonedInstanceIsRefusedWithTheSameMessageOnEveryEngine) {
  Instance instance = instantiate(kNumbers);
  auto trapped = instance.call("boom", {});
  ASSERT_FALSE(trapped);
  EXPECT_EQ(trapped.error().kind(), ErrorKind::trap);
  EXPECT_TRUE(trapped.error().message().starts_with("test.wat: boom: ")) << trapped.error();
  EXPECT_FALSE(instance.healthy());
  EXPECT_FALSE(instance.reset());

  auto refused = instance.call("add", std::vector<Value>{1, 2});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::trap);
  EXPECT_EQ(refused.error().message(),
            "test.wat: add: instance was stopped earlier; create a new one");
  auto bytes = instance.call_bytes("echo", as_bytes("x"));
  EXPECT_FALSE(bytes);
}

TEST_P(ApiCall, BytesCallsFollowThePluginAbi) {
  auto module = Module::load_file(engine(), testing::plugin_file("hello.wasm"));
  ASSERT_TRUE(module) << module.error();
  Instance hello = instantiate(link(Linker().define_wasi(), *module));
  auto out = hello.call_bytes("hello", as_bytes("warmpool"));
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(out->output, "Hello, warmpool!");
  EXPECT_EQ(out->stdout_text, "Hello, warmpool!\n");
  EXPECT_EQ(hello.last_stdout(), out->stdout_text);

  auto not_bytes = instantiate(kNumbers).call_bytes("add", as_bytes("x"));
  ASSERT_FALSE(not_bytes);
  EXPECT_EQ(not_bytes.error().message(),
            "test.wat: export 'add' is not a bytes export: its type must be (i32 ptr, i32 len) -> "
            "i64");
}

TEST_P(ApiCall, MemoryViewsCheckEveryAccess) {
  Instance instance = instantiate(kNumbers);
  MemoryView memory = instance.memory();
  ASSERT_EQ(memory.size(), 65536u);
  ASSERT_TRUE(memory.store<std::uint32_t>(100, 0xAABBCCDD));
  EXPECT_EQ(memory.load<std::uint32_t>(100).value(), 0xAABBCCDDu);
  ASSERT_TRUE(memory.write(65530, as_bytes("hello!")));
  EXPECT_EQ(instance.call("peek", std::vector<Value>{65535}).value(), std::vector<Value>{'!'});

  auto past_end = memory.read(65530, 7);
  ASSERT_FALSE(past_end);
  EXPECT_EQ(past_end.error().message(),
            "memory access [65530, 65537) outside memory of 65536 bytes");
  EXPECT_FALSE(memory.store<std::uint64_t>(65532, 1));
  EXPECT_FALSE(memory.load<std::uint8_t>(std::uint64_t{1} << 40));
}

}  // namespace
}  // namespace warmpool::wasm
