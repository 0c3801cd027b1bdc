// Modules on every engine: compiling and loading, what a module lists, how bad bytes, bad
// files and bad imports are reported.
#include <random>
#include <string>
#include <vector>

#include "api_test_support.hpp"
#include "test_support.hpp"

namespace warmpool::wasm {
namespace {

using testing::answer_module;
using testing::as_bytes;
using testing::data_file;
using testing::EngineTest;
using testing::plugin_file;
using testing::read_bytes;

class ApiModule : public EngineTest {};
WARMPOOL_ON_EVERY_ENGINE(ApiModule);

TEST_P(ApiModule, LoadsARealPluginAndListsItsExports) {
  auto module = Module::load_file(engine(), plugin_file("fib.wasm"), {.fuel = 1'000'000});
  ASSERT_TRUE(module) << module.error();
  EXPECT_EQ(module->name(), "fib.wasm");
  EXPECT_EQ(module->limits().fuel, 1'000'000u);
  const ExportedFunction* fib = module->find_export("fib");
  ASSERT_NE(fib, nullptr);
  EXPECT_EQ(fib->type.params, std::vector{ValueType::i32});
  EXPECT_EQ(fib->type.results, std::vector{ValueType::i64});
  EXPECT_EQ(module->find_export("fob"), nullptr);
}

TEST_P(ApiModule, HidesWarmpoolsOwnExportsAndUncallableOnes) {
  auto module =
      Module::load_file(engine(), data_file("numbers.wat"), {.fuel = 1000, .max_memory_pages = 1});
  ASSERT_TRUE(module) << module.error();
  std::vector<std::string> names;
  for (const auto& e : module->exports()) names.push_back(e.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"add_i32", "mul_i64", "half_f32", "sqrt_f64", "divmod"}));
}

TEST_P(ApiModule, UnreadableFilesAreIoErrorsNamingThePath) {
  auto missing = Module::load_file(engine(), data_file("no-such-plugin.wasm"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::io);
  EXPECT_NE(missing.error().message().find("no-such-plugin.wasm"), std::string::npos);

  auto directory = Module::load_file(engine(), data_file(""));
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().kind(), ErrorKind::io);
}

TEST_P(ApiModule, ImportsOutsideTheWasiSubsetFailToLinkNamingModuleAndField) {
  const Linker wasi = Linker().define_wasi();
  auto unknown = Module::load_file(engine(), data_file("unknown_import.wat"));
  ASSERT_TRUE(unknown) << unknown.error();  // imports are resolved by a Linker, not here
  auto unknown_linked = wasi.link(*unknown);
  ASSERT_FALSE(unknown_linked);
  EXPECT_EQ(unknown_linked.error().kind(), ErrorKind::link);
  EXPECT_EQ(unknown_linked.error().message(), "unknown_import.wat: unknown import 'env.foo'");

  auto path_open =
      wasi.link(compile(R"((module (import "wasi_snapshot_preview1" "path_open" (func))))"));
  ASSERT_FALSE(path_open);
  EXPECT_EQ(path_open.error().kind(), ErrorKind::link);
  EXPECT_NE(path_open.error().message().find("'wasi_snapshot_preview1.path_open'"),
            std::string::npos);

  auto wrong_type = wasi.link(compile(
      R"((module (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))))",
      {}, "w.wasm"));
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().kind(), ErrorKind::link);
  EXPECT_EQ(wrong_type.error().message(),
            "w.wasm: import 'wasi_snapshot_preview1.fd_write' has type (i32) -> (i32), the host "
            "defines (i32, i32, i32, i32) -> (i32)");

  auto memory = wasi.link(compile(R"((module (import "env" "memory" (memory 1))))", {}, "m.wasm"));
  ASSERT_FALSE(memory);
  EXPECT_EQ(memory.error().kind(), ErrorKind::link);
  EXPECT_EQ(memory.error().message(),
            "m.wasm: unknown import 'env.memory' (a memory; the host provides only functions)");
}

TEST_P(ApiModule, InvalidBytesAreCompileErrorsNamingTheModule) {
  std::vector<std::uint8_t> wrong_magic = answer_module();
  wrong_magic[0] = 0x01;
  const std::vector<std::uint8_t> bad_section = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00,
                                                 0x00, 0x01, 0xff, 0xff, 0xff, 0x0f};
  for (const auto& bytes : {std::vector<std::uint8_t>{}, wrong_magic, bad_section,
                            testing::bytes_of("(module (func (i32.add)))")}) {
    auto module = Module::compile(engine(), bytes, {}, "broken.wasm");
    ASSERT_FALSE(module);
    EXPECT_EQ(module.error().kind(), ErrorKind::compile);
    EXPECT_NE(module.error().message().find("broken.wasm"), std::string::npos) << module.error();
  }
  const auto good = answer_module();
  for (std::size_t n = 0; n < good.size(); ++n) {
    if (n == 8 || n == 15) continue;  // the header alone, or with the type section, is valid
    EXPECT_FALSE(Module::compile(engine(), std::span(good).first(n), {}, "truncated.wasm")) << n;
  }
  const std::vector<std::uint8_t> echo = read_bytes(plugin_file("echo.wasm"));
  ASSERT_GT(echo.size(), 64u);
  auto half = Module::compile(engine(), std::span(echo).first(echo.size() / 2), {}, "half.wasm");
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().kind(), ErrorKind::compile) << half.error();
}

TEST_P(ApiModule, HarmlessMutationsOfAModuleStayUsable) {
  const auto good = answer_module();
  std::mt19937 random(42);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> bytes = good;
    bytes[8 + random() % (bytes.size() - 8)] = static_cast<std::uint8_t>(random());
    auto module = Module::compile(engine(), bytes, {.fuel = 100}, "mutated.wasm");
    if (!module) continue;
    auto linked = Linker().link(*module);
    if (!linked) continue;
    auto instance = Instance::instantiate(*linked);
    if (instance) (void)instance->call("run", {});
  }
}

// Inputs on which Debian's libwabt 1.0.32 (the shared preparation pass) used
// to abort the process: a binary its IR reader asserts on (upstream wabt
// #2199) and text its parser asserts on.
TEST_P(ApiModule, InputsThatAbortWabtAreCompileErrorsNamingTheModule) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 100}}) {
    auto binary = Module::load_file(engine(), data_file("regress_init_expr_end.wasm"), limits);
    ASSERT_FALSE(binary);
    EXPECT_EQ(binary.error().kind(), ErrorKind::compile);
    EXPECT_NE(binary.error().message().find("regress_init_expr_end.wasm: "), std::string::npos)
        << binary.error();
  }
  auto text = Module::compile(engine(), as_bytes("(module (elem funcref (foo)))"), {}, "elem.wat");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind(), ErrorKind::compile);
  EXPECT_TRUE(text.error().message().starts_with("elem.wat:1:")) << text.error();
}

TEST_P(ApiModule, TextThatFailsValidationIsACompileErrorNamingTheModule) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 100}}) {
    auto module = Module::compile(
        engine(), as_bytes(R"((module (func (export "f") (result i32) i64.const 1)))"), limits,
        "mismatch.wat");
    ASSERT_FALSE(module);
    EXPECT_EQ(module.error().kind(), ErrorKind::compile);
    EXPECT_TRUE(module.error().message().starts_with("mismatch.wat:1:")) << module.error();
  }
}

TEST_P(ApiModule, AStartFunctionThatTrapsFailsInstantiation) {
  LinkedModule linked =
      link(Linker(), compile(R"((module (func $s unreachable) (start $s)))", {}, "start.wasm"));
  auto instance = Instance::instantiate(linked);
  ASSERT_FALSE(instance);
  EXPECT_EQ(instance.error().kind(), ErrorKind::instantiate) << instance.error();
  EXPECT_NE(instance.error().message().find("start.wasm"), std::string::npos);
}

TEST_P(ApiModule, IsSharedAcrossInstances) {
  auto module = Module::compile(engine(), answer_module(), {}, "answer.wasm");
  ASSERT_TRUE(module) << module.error();
  LinkedModule linked = link(Linker(), *module);
  Instance a = instantiate(linked);
  Instance b = instantiate(linked);
  EXPECT_EQ(&a.module().impl(), &b.module().impl());
  EXPECT_EQ(a.call("run", {}).value(), std::vector<Value>{std::int32_t{42}});
}

}  // namespace
}  // namespace warmpool::wasm
