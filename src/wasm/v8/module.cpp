#include <v8.h>

#include <fstream>
#include <iterator>
#include <string_view>
#include <utility>

#include "internal/imports.hpp"
#include "internal/module_impl.hpp"
#include "internal/platform.hpp"
#include "internal/strings.hpp"
#include "warmpool/wasm/v8.hpp"
#include "wasm/common/prepare.hpp"

namespace warmpool::wasm::v8 {
namespace {

using internal::host_string;

// A short-lived isolate that compiles the module. The compiled code outlives it: V8's native
// module is process-wide and refcounted by the CompiledWasmModule handle.
class CompileIsolate {
 public:
  CompileIsolate() {
    auto params = internal::isolate_params();
    isolate_ = ::v8::Isolate::New(params);
  }
  ~CompileIsolate() { isolate_->Dispose(); }
  CompileIsolate(const CompileIsolate&) = delete;
  CompileIsolate& operator=(const CompileIsolate&) = delete;
  ::v8::Isolate* get() const { return isolate_; }

 private:
  ::v8::Isolate* isolate_;
};

}  // namespace

Module::Module(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Module::~Module() = default;

std::expected<std::shared_ptr<const Module>, WasmError> Module::compile(
    std::span<const std::uint8_t> bytes, const Limits& limits, std::string name) {
  // V8 enforces the deadline itself (TerminateExecution), so metering is injected only to
  // count fuel; a timeout alone costs the guest nothing.
  Limits metering = limits;
  metering.timeout = std::chrono::milliseconds{0};
  auto prepared = wasm::internal::prepare_module(bytes, metering, name, {.expose_state = true});
  if (!prepared) return std::unexpected(std::move(prepared.error()));

  internal::ensure_v8();
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->limits = limits;
  impl->exports = std::move(prepared->exports);
  impl->metered = prepared->metered;
  impl->grow_tracked = prepared->grow_tracked;
  impl->state = std::move(prepared->state);
  auto imports = internal::read_imports(prepared->binary, impl->name);
  if (!imports) return std::unexpected(std::move(imports.error()));
  impl->link_error = internal::check_imports(*imports, impl->name);

  CompileIsolate compile_isolate;
  auto* isolate = compile_isolate.get();
  {
    ::v8::Locker locker(isolate);
    ::v8::Isolate::Scope isolate_scope(isolate);
    ::v8::HandleScope handles(isolate);
    auto context = ::v8::Context::New(isolate);
    ::v8::Context::Scope context_scope(context);
    ::v8::TryCatch try_catch(isolate);
    const auto& binary = prepared->binary;
    auto compiled = ::v8::WasmModuleObject::Compile(
        isolate, ::v8::MemorySpan<const std::uint8_t>(binary.data(), binary.size()));
    if (compiled.IsEmpty()) {
      return std::unexpected(WasmError(
          ErrorKind::compile,
          impl->name + ": V8 rejected the module: " + host_string(isolate, try_catch.Exception())));
    }
    impl->compiled =
        std::make_shared<::v8::CompiledWasmModule>(compiled.ToLocalChecked()->GetCompiledModule());
  }
  return std::shared_ptr<const Module>(new Module(std::move(impl)));
}

std::expected<std::shared_ptr<const Module>, WasmError> Module::load_file(
    const std::filesystem::path& path, const Limits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::unexpected(WasmError(
        ErrorKind::io, path.string() + ": cannot read: " + (ec ? ec.message() : "not a file")));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes(std::istreambuf_iterator<char>(in), {});
  if (!in && !in.eof()) {
    return std::unexpected(WasmError(ErrorKind::io, path.string() + ": cannot read"));
  }
  return compile(bytes, limits, path.filename().string());
}

const std::string& Module::name() const {
  return impl_->name;
}
const Limits& Module::limits() const {
  return impl_->limits;
}
const std::vector<ExportedFunction>& Module::exports() const {
  return impl_->exports;
}

const ExportedFunction* Module::find_export(std::string_view name) const {
  for (const auto& e : impl_->exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace warmpool::wasm::v8
