// wabt Module: compiling, loading files, exports and link/compile errors.
#include <gtest/gtest.h>

#include <random>

#include "test_support.hpp"
#include "warmpool/wasm/wabt.hpp"

namespace warmpool::wasm::wabt {
namespace {

using testing::answer_module;
using testing::bytes_of;
using testing::data_file;
using testing::plugin_file;

TEST(WabtModule, LoadsARealPluginAndListsItsExports) {
  auto module = Module::load_file(plugin_file("fib.wasm"));
  ASSERT_TRUE(module) << module.error();
  EXPECT_EQ((*module)->name(), "fib.wasm");
  const ExportedFunction* fib = (*module)->find_export("fib");
  ASSERT_NE(fib, nullptr);
  EXPECT_EQ(fib->type.params, std::vector{ValueType::i32});
  EXPECT_EQ(fib->type.results, std::vector{ValueType::i64});
  EXPECT_EQ((*module)->find_export("fob"), nullptr);
}

TEST(WabtModule, HidesWarmpoolsOwnExportsAndUncallableOnes) {
  auto module = Module::load_file(data_file("numbers.wat"), {.fuel = 1000, .max_memory_pages = 1});
  ASSERT_TRUE(module) << module.error();
  std::vector<std::string> names;
  for (const auto& e : (*module)->exports()) names.push_back(e.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"add_i32", "mul_i64", "half_f32", "sqrt_f64", "divmod"}));
  EXPECT_EQ((*module)->limits().fuel, 1000u);
}

TEST(WabtModule, UnreadableFilesAreIoErrorsNamingThePath) {
  auto missing = Module::load_file(data_file("no-such-plugin.wasm"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::io);
  EXPECT_NE(missing.error().message().find("no-such-plugin.wasm"), std::string::npos);

  auto directory = Module::load_file(testing::data_file(""));
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().kind(), ErrorKind::io);
}

TEST(WabtModule, UnknownImportsFailToLinkNamingModuleAndField) {
  auto module = Module::load_file(data_file("unknown_import.wat"));
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::link);
  EXPECT_EQ(module.error().message(), "unknown_import.wat: unknown import 'env.foo'");

  auto wasi = Module::compile(
      bytes_of(R"((module (import "wasi_snapshot_preview1" "path_open" (func))))"), {}, "x.wat");
  ASSERT_FALSE(wasi);
  EXPECT_EQ(wasi.error().kind(), ErrorKind::link);
  EXPECT_NE(wasi.error().message().find("'wasi_snapshot_preview1.path_open'"), std::string::npos);

  auto wrong_type = Module::compile(
      bytes_of(R"((module (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))))"), {},
      "x.wat");
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().kind(), ErrorKind::link);
  EXPECT_EQ(wrong_type.error().message(),
            "x.wat: import 'wasi_snapshot_preview1.fd_write' has type (i32) -> (), the host "
            "defines (i32, i32, i32, i32) -> (i32)");
}

TEST(WabtModule, InvalidBytesAreCompileErrorsNamingTheModule) {
  std::vector<std::uint8_t> wrong_magic = answer_module();
  wrong_magic[0] = 0x01;
  for (const auto& bytes :
       {std::vector<std::uint8_t>{}, wrong_magic, bytes_of("(module (func (i32.add)))")}) {
    auto module = Module::compile(bytes, {}, "broken.wasm");
    ASSERT_FALSE(module);
    EXPECT_EQ(module.error().kind(), ErrorKind::compile);
    EXPECT_NE(module.error().message().find("broken.wasm"), std::string::npos) << module.error();
  }
  const auto good = answer_module();
  for (std::size_t n = 0; n < good.size(); ++n) {
    if (n == 8 || n == 15) continue;  // the header alone, or with the type section, is valid
    EXPECT_FALSE(Module::compile(std::span(good).first(n), {}, "truncated.wasm")) << n;
  }
  std::mt19937 random(42);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> bytes = good;
    bytes[8 + random() % (bytes.size() - 8)] = static_cast<std::uint8_t>(random());
    auto module = Module::compile(bytes, {.fuel = 100}, "mutated.wasm");
    if (module) {  // a harmless mutation: the module must still be usable
      auto instance = Instance::instantiate(*module);
      if (instance) (void)instance->call("run", {});
    }
  }
}

// Debian's libwabt 1.0.32 aborts the process on this binary when building its
// IR (upstream wabt #2199); the loader must reject it instead.
TEST(WabtModule, ABinaryThatAbortsWabtsIrReaderIsACompileErrorNamingTheFile) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 100}}) {
    auto module = Module::load_file(data_file("regress_init_expr_end.wasm"), limits);
    ASSERT_FALSE(module);
    EXPECT_EQ(module.error().kind(), ErrorKind::compile);
    EXPECT_NE(module.error().message().find("regress_init_expr_end.wasm: "), std::string::npos)
        << module.error();
  }
}

TEST(WabtModule, TextThatFailsValidationIsACompileErrorNamingTheModule) {
  for (const Limits& limits : {Limits{}, Limits{.fuel = 100}}) {
    auto module =
        Module::compile(bytes_of(R"((module (func (export "f") (result i32) i64.const 1)))"),
                        limits, "mismatch.wat");
    ASSERT_FALSE(module);
    EXPECT_EQ(module.error().kind(), ErrorKind::compile);
    EXPECT_TRUE(module.error().message().starts_with("mismatch.wat:1:")) << module.error();
  }
}

TEST(WabtModule, IsSharedAcrossInstances) {
  auto module = Module::compile(answer_module(), {}, "answer.wasm");
  ASSERT_TRUE(module) << module.error();
  auto a = Instance::instantiate(*module);
  auto b = Instance::instantiate(*module);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(&a->module(), &b->module());
  EXPECT_EQ(a->call("run", {}).value(), std::vector<Value>{std::int32_t{42}});
}

}  // namespace
}  // namespace warmpool::wasm::wabt
