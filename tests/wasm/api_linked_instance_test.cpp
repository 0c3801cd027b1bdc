// Linked instances (Linker::define_instance) on every engine: imports that call another
// instance's exports directly, its memory seen by both, link errors naming both sides, and a
// trap, deadline or fuel stop inside the exporter ending the importer's call cleanly.
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "api_test_support.hpp"

namespace warmpool::wasm {
namespace {

using testing::EngineTest;

class LinkedInstances : public EngineTest {
 protected:
  // The exporter: a memory, a counter global, and functions over both.
  LinkedModule exporter(const Limits& limits = {}) {
    Linker linker;
    linker.define("host", "note", [](Caller& caller) { ++*caller.data<int>(); }).host_data([] {
      return 0;
    });
    return link(linker, compile(kExporter, limits, "exporter.wat"));
  }

  static constexpr std::string_view kExporter = R"((module
    (import "host" "note" (func $note))
    (memory (export "memory") 1)
    (global $count (mut i32) (i32.const 0))
    (func (export "put") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "bump") (result i32)
      (call $note)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.get $count))
    (func (export "boom") (unreachable))
    (func (export "spin") (loop $forever (br $forever)))))";

  static constexpr std::string_view kImporter = R"((module
    (import "env" "put" (func $put (param i32 i32)))
    (import "env" "get" (func $get (param i32) (result i32)))
    (import "env" "bump" (func $bump (result i32)))
    (import "env" "boom" (func $boom))
    (import "env" "spin" (func $spin))
    (import "env" "sum_via_host" (func $sum_via_host (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "put") (param i32 i32) (call $put (local.get 0) (local.get 1)))
    (func (export "get") (param i32) (result i32) (call $get (local.get 0)))
    (func (export "bump") (result i32) (call $bump))
    (func (export "boom") (call $boom))
    (func (export "spin") (call $spin))
    (func (export "sum_via_host") (param i32) (result i32) (call $sum_via_host (local.get 0)))))";

  // sum_via_host(n): the host reads the exporter's bytes 0..n through its memory and adds a
  // call of its `bump`, as an Extism host function reads kernel memory and allocates.
  LinkedModule importer(const LinkedModule& exporter_module, const Limits& limits = {}) {
    Linker linker;
    linker.define_instance("env", exporter_module)
        .define("env", "sum_via_host", [](Caller& caller, std::int32_t n) -> std::int32_t {
          Instance* linked = caller.linked_instance("env");
          if (linked == nullptr) {
            caller.stop("no linked instance");
            return 0;
          }
          auto bytes = linked->memory().read(0, static_cast<std::uint32_t>(n));
          if (!bytes) {
            caller.stop(bytes.error().message());
            return 0;
          }
          std::int32_t sum = 0;
          for (std::uint8_t b : *bytes) sum += b;
          auto bumped = linked->call("bump", {});
          if (!bumped) {
            caller.stop(bumped.error().message());
            return 0;
          }
          return sum + 1000 * std::get<std::int32_t>((*bumped)[0]);
        });
    return link(linker, compile(kImporter, limits, "importer.wat"));
  }
};
WARMPOOL_ON_EVERY_ENGINE(LinkedInstances);

std::int32_t as_i32(const std::expected<std::vector<Value>, WasmError>& result) {
  if (!result) throw std::runtime_error(result.error().message());
  return std::get<std::int32_t>(result->at(0));
}

TEST_P(LinkedInstances, ImportsCallTheExporterAndWriteItsMemoryNotTheImporters) {
  Instance instance = instantiate(importer(exporter()));
  ASSERT_TRUE(instance.call("put", std::vector<Value>{7, 200}));
  EXPECT_EQ(as_i32(instance.call("get", std::vector<Value>{7})), 200);
  Instance* linked = instance.linked_instance("env");
  ASSERT_NE(linked, nullptr);
  EXPECT_EQ(linked->memory().read(7, 1).value()[0], 200);
  EXPECT_EQ(instance.memory().read(7, 1).value()[0], 0);
  EXPECT_EQ(instance.linked_instance("other"), nullptr);
  // The exporter's own host function runs with the exporter's host data.
  EXPECT_EQ(as_i32(instance.call("bump", {})), 1);
  EXPECT_EQ(as_i32(instance.call("bump", {})), 2);
  EXPECT_EQ(*linked->host_data<int>(), 2);
}

TEST_P(LinkedInstances, AHostFunctionReadsTheExporterMemoryAndCallsItsExports) {
  Instance instance = instantiate(importer(exporter()));
  ASSERT_TRUE(instance.call("put", std::vector<Value>{0, 3}));
  ASSERT_TRUE(instance.call("put", std::vector<Value>{1, 4}));
  EXPECT_EQ(as_i32(instance.call("sum_via_host", std::vector<Value>{2})), 1007);
  // The host's call into the exporter and the guest's share its state.
  EXPECT_EQ(as_i32(instance.call("bump", {})), 2);
}

TEST_P(LinkedInstances, EveryImporterInstanceHasItsOwnExporterInstance) {
  const LinkedModule linked = importer(exporter());
  Instance first = instantiate(linked);
  Instance second = instantiate(linked);
  ASSERT_TRUE(first.call("put", std::vector<Value>{5, 9}));
  EXPECT_EQ(as_i32(second.call("get", std::vector<Value>{5})), 0);
  EXPECT_EQ(as_i32(first.call("bump", {})), 1);
  EXPECT_EQ(as_i32(second.call("bump", {})), 1);
}

TEST_P(LinkedInstances, ResetRestoresTheExporterToo) {
  Instance instance = instantiate(importer(exporter()));
  ASSERT_TRUE(instance.call("put", std::vector<Value>{3, 33}));
  EXPECT_EQ(as_i32(instance.call("bump", {})), 1);
  ASSERT_TRUE(instance.reset());
  EXPECT_EQ(as_i32(instance.call("get", std::vector<Value>{3})), 0);
  EXPECT_EQ(as_i32(instance.call("bump", {})), 1);
  EXPECT_EQ(*instance.linked_instance("env")->host_data<int>(), 1);
}

TEST_P(LinkedInstances, ATypeMismatchNamesBothSides) {
  constexpr std::string_view kWrong = R"((module
    (import "env" "get" (func (param i64) (result i64)))))";
  Linker linker;
  linker.define_instance("env", exporter());
  auto linked = linker.link(compile(kWrong, {}, "wrong.wat"));
  ASSERT_FALSE(linked);
  EXPECT_EQ(linked.error().kind(), ErrorKind::link);
  EXPECT_EQ(linked.error().message(),
            "wrong.wat: import 'env.get' has type (i64) -> (i64), 'exporter.wat' (linked as "
            "'env') exports it with type (i32) -> (i32)");
}

TEST_P(LinkedInstances, AnImportNeitherExportedNorDefinedIsUnknown) {
  constexpr std::string_view kMissing = R"((module (import "env" "nothing" (func))))";
  Linker linker;
  linker.define_instance("env", exporter());
  auto linked = linker.link(compile(kMissing, {}, "missing.wat"));
  ASSERT_FALSE(linked);
  EXPECT_EQ(linked.error().message(),
            "missing.wat: unknown import 'env.nothing' ('exporter.wat', linked as 'env', does not "
            "export it, nor does the host)");
}

TEST_P(LinkedInstances, AnExporterWithLinkedInstancesOfItsOwnIsRefused) {
  Linker linker;
  linker.define_instance("env", importer(exporter()));
  auto linked = linker.link(compile("(module)", {}, "outer.wat"));
  ASSERT_FALSE(linked);
  EXPECT_EQ(linked.error().message(),
            "outer.wat: 'importer.wat' (linked as 'env') has linked instances of its own");
}

TEST_P(LinkedInstances, ATrapInsideTheExporterFailsTheImportersCall) {
  Instance instance = instantiate(importer(exporter()));
  auto done = instance.call("boom", {});
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind(), ErrorKind::trap);
  EXPECT_NE(done.error().message().find("importer.wat: boom: "), std::string::npos)
      << done.error().message();
  EXPECT_FALSE(instance.healthy());
  EXPECT_FALSE(instance.reset());
}

TEST_P(LinkedInstances, TheDeadlineStopsACallSpinningInsideTheExporter) {
  // On wabt only metered code stops, so the exporter has a timeout of its own (never armed
  // for calls inside the importer's).
  const Limits limits{.timeout = std::chrono::milliseconds(50)};
  Instance instance = instantiate(importer(exporter(limits), limits));
  const auto start = std::chrono::steady_clock::now();
  auto done = instance.call("spin", {});
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind(), ErrorKind::deadline) << done.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));  // liveness
  EXPECT_FALSE(instance.healthy());
}

TEST_P(LinkedInstances, FuelSpentInsideTheExporterIsTheImporters) {
  Instance instance = instantiate(importer(exporter({.fuel = 1'000'000'000}), {.fuel = 200'000}));
  auto done = instance.call("spin", {});
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind(), ErrorKind::fuel_exhausted) << done.error().message();
  EXPECT_NE(done.error().message().find("limit 200000"), std::string::npos);
}

TEST_P(LinkedInstances, ABoundImporterCallsItsExporterOnItsThread) {
  Instance instance = instantiate(importer(exporter()));
  {
    auto binding = instance.bind_to_this_thread();
    ASSERT_TRUE(binding);
    ASSERT_TRUE(instance.call("put", std::vector<Value>{0, 5}));
    EXPECT_EQ(as_i32(instance.call("sum_via_host", std::vector<Value>{1})), 1005);
  }
  // Unbound again: another thread may use it.
  std::int32_t seen = -1;
  std::thread([&] { seen = as_i32(instance.call("get", std::vector<Value>{0})); }).join();
  EXPECT_EQ(seen, 5);
}

TEST_P(LinkedInstances, TheSameModuleLinkedToHostFunctionsCallsThemAfterALinkedInstanceWent) {
  const Module module = compile(kImporter, {}, "importer.wat");
  Linker linked_linker;
  linked_linker.define_instance("env", exporter()).define("env", "sum_via_host", [](std::int32_t) {
    return std::int32_t{0};
  });
  Linker host_linker;
  host_linker.define("env", "put", [](std::int32_t, std::int32_t) {})
      .define("env", "get", [](std::int32_t) { return std::int32_t{-7}; })
      .define("env", "bump", [] { return std::int32_t{0}; })
      .define("env", "boom", [] {})
      .define("env", "spin", [] {})
      .define("env", "sum_via_host", [](std::int32_t) { return std::int32_t{0}; });
  {
    Instance with_exporter = instantiate(link(linked_linker, module));
    ASSERT_TRUE(with_exporter.call("put", std::vector<Value>{0, 1}));
    EXPECT_EQ(as_i32(with_exporter.call("get", std::vector<Value>{0})), 1);
  }
  // On V8 this one likely reuses the isolate (and the import object) the first one left.
  Instance with_host = instantiate(link(host_linker, module));
  EXPECT_EQ(as_i32(with_host.call("get", std::vector<Value>{0})), -7);
  EXPECT_EQ(with_host.linked_instance("env"), nullptr);
}

// An exporter without imports, like the Extism kernel: on V8 a destroyed one is left, restored,
// for its module's next instance in the isolate (v8_backend.cpp), which must not see anything
// of the last one's use.
constexpr std::string_view kPlainExporter = R"((module
  (memory (export "memory") 1 4)
  (global $count (mut i32) (i32.const 0))
  (func (export "put") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))))";

constexpr std::string_view kPlainImporter = R"((module
  (import "env" "put" (func $put (param i32 i32)))
  (import "env" "get" (func $get (param i32) (result i32)))
  (import "env" "bump" (func $bump (result i32)))
  (import "env" "grow" (func $grow (result i32)))
  (func (export "put") (param i32 i32) (call $put (local.get 0) (local.get 1)))
  (func (export "get") (param i32) (result i32) (call $get (local.get 0)))
  (func (export "bump") (result i32) (call $bump))
  (func (export "grow") (result i32) (call $grow))))";

TEST_P(LinkedInstances, AnImporterMadeAfterAnotherWentSeesAFreshExporter) {
  Linker exporter_linker;
  const LinkedModule plain_exporter =
      link(exporter_linker, compile(kPlainExporter, {}, "plain_exporter.wat"));
  Linker linker;
  linker.define_instance("env", plain_exporter);
  const LinkedModule linked = link(linker, compile(kPlainImporter, {}, "plain_importer.wat"));
  const std::uint8_t* first_memory = nullptr;
  {
    Instance first = instantiate(linked);
    first_memory = first.linked_instance("env")->memory().data().data();
    ASSERT_TRUE(first.call("put", std::vector<Value>{9, 99}));
    EXPECT_EQ(as_i32(first.call("bump", {})), 1);
  }
  for (int round = 0; round < 3; ++round) {
    Instance next = instantiate(linked);
    Instance* exporter_instance = next.linked_instance("env");
    // V8 reuses the isolate and, in it, the exporter the last instance left, unless its
    // memory grew (round 1's).
    if (GetParam() == "v8" && round < 2) {
      EXPECT_EQ(exporter_instance->memory().data().data(), first_memory);
    }
    EXPECT_EQ(exporter_instance->memory().data().size(), 65536u);
    EXPECT_EQ(as_i32(next.call("get", std::vector<Value>{9})), 0);
    EXPECT_EQ(as_i32(next.call("bump", {})), 1);
    ASSERT_TRUE(next.call("put", std::vector<Value>{9, 99}));
    if (round == 1) {  // then not left: a memory cannot shrink
      EXPECT_EQ(as_i32(next.call("grow", {})), 1);
    }
  }
}

TEST_P(LinkedInstances, AnExportersInitializeRunsOncePerImporterInstance) {
  constexpr std::string_view kInitialized = R"((module
    (global $count (mut i32) (i32.const 0))
    (func (export "_initialize") (global.set $count (i32.add (global.get $count) (i32.const 1))))
    (func (export "bump") (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.get $count))))";
  constexpr std::string_view kBumper = R"((module
    (import "env" "bump" (func $bump (result i32)))
    (func (export "bump") (result i32) (call $bump))))";
  Linker exporter_linker;
  Linker linker;
  linker.define_instance("env", link(exporter_linker, compile(kInitialized, {}, "init.wat")));
  const LinkedModule linked = link(linker, compile(kBumper, {}, "bumper.wat"));
  for (int round = 0; round < 3; ++round) {
    Instance instance = instantiate(linked);
    EXPECT_EQ(as_i32(instance.call("bump", {})), 2);
  }
}

}  // namespace
}  // namespace warmpool::wasm
