// Module::compile / load_file on V8: what a module exposes and how bad input is reported.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "v8_test_support.hpp"

namespace warmpool::wasm::v8 {
namespace {

using testing::bytes;
using testing::plugin;
using testing::plugin_path;
using testing::wat;

TEST(V8Module, ListsExportedFunctionsWithTheirTypes) {
  auto module = plugin("fib", {.fuel = 1'000'000});
  ASSERT_TRUE(module);
  const auto* fib = module->find_export("fib");
  ASSERT_NE(fib, nullptr);
  EXPECT_EQ(fib->type.params, std::vector<ValueType>{ValueType::i32});
  EXPECT_EQ(fib->type.results, std::vector<ValueType>{ValueType::i64});
  EXPECT_EQ(module->name(), "fib.wasm");
  EXPECT_EQ(module->limits().fuel, 1'000'000u);
  for (const auto& e : module->exports()) EXPECT_FALSE(e.name.starts_with("__warmpool")) << e.name;
  EXPECT_EQ(module->find_export("fob"), nullptr);
}

TEST(V8Module, RejectsBytesThatAreNotAModule) {
  const std::vector<std::uint8_t> garbage = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00,
                                             0x00, 0x01, 0xff, 0xff, 0xff, 0x0f};
  auto module = Module::compile(garbage, {}, "garbage.wasm");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::compile);
  EXPECT_NE(module.error().message().find("garbage.wasm"), std::string::npos) << module.error();

  auto text = Module::compile(bytes("(module (func (export \"f\") (result i32) i64.const 1))"), {},
                              "bad.wat");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind(), ErrorKind::compile);
}

// Inputs on which Debian's libwabt 1.0.32 (shared preparation pass) used to
// abort the process: a binary its IR reader asserts on (upstream wabt #2199)
// and text its parser asserts on.
TEST(V8Module, InputsThatAbortWabtAreCompileErrorsNamingTheModule) {
  auto binary =
      Module::load_file(std::filesystem::path(WARMPOOL_TEST_DATA) / "regress_init_expr_end.wasm");
  ASSERT_FALSE(binary);
  EXPECT_EQ(binary.error().kind(), ErrorKind::compile);
  EXPECT_NE(binary.error().message().find("regress_init_expr_end.wasm: "), std::string::npos)
      << binary.error();

  auto text = Module::compile(bytes("(module (elem funcref (foo)))"), {}, "elem.wat");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind(), ErrorKind::compile);
  EXPECT_TRUE(text.error().message().starts_with("elem.wat:1:")) << text.error();
}

TEST(V8Module, RejectsATruncatedPlugin) {
  std::ifstream in(plugin_path("echo"), std::ios::binary);
  std::vector<std::uint8_t> whole(std::istreambuf_iterator<char>(in), {});
  ASSERT_GT(whole.size(), 64u);
  auto module = Module::compile(std::span(whole).first(whole.size() / 2), {}, "half.wasm");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::compile) << module.error();
}

TEST(V8Module, ReportsAMissingFileAsIo) {
  auto module = Module::load_file("/nonexistent/plugin.wasm");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::io);
  EXPECT_NE(module.error().message().find("/nonexistent/plugin.wasm"), std::string::npos);
}

// Imports are linked when the module is compiled, on both engines, with one set of messages.
TEST(V8Module, UnknownImportFailsLinkingNamingModuleAndField) {
  auto module = Module::compile(
      bytes(R"((module (import "env" "foo" (func)) (func (export "f"))))"), {}, "x.wasm");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::link);
  EXPECT_EQ(module.error().message(), "x.wasm: unknown import 'env.foo'");
}

TEST(V8Module, WasiImportWithTheWrongSignatureFailsLinking) {
  auto module = Module::compile(bytes(R"((module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
      (func (export "f"))))"),
                                {}, "w.wasm");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::link);
  EXPECT_EQ(module.error().message(),
            "w.wasm: import 'wasi_snapshot_preview1.fd_write' has type (i32) -> (i32), the host "
            "defines (i32, i32, i32, i32) -> (i32)");
}

TEST(V8Module, ImportedMemoryIsNotProvided) {
  auto module =
      Module::compile(bytes(R"((module (import "env" "memory" (memory 1))))"), {}, "m.wasm");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().kind(), ErrorKind::link);
  EXPECT_EQ(module.error().message(),
            "m.wasm: unknown import 'env.memory' (a memory; the host provides only functions)");
}

TEST(V8Module, AStartFunctionThatTrapsFailsInstantiation) {
  auto module = wat(R"((module (func $s unreachable) (start $s)))", {}, "start.wasm");
  ASSERT_TRUE(module);
  auto instance = Instance::instantiate(module);
  ASSERT_FALSE(instance);
  EXPECT_EQ(instance.error().kind(), ErrorKind::instantiate) << instance.error();
  EXPECT_NE(instance.error().message().find("start.wasm"), std::string::npos);
}

}  // namespace
}  // namespace warmpool::wasm::v8
