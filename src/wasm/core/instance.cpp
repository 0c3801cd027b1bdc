#include "warmpool/wasm/instance.hpp"

#include <algorithm>
#include <utility>

#include "wasm/common/scratch_values.hpp"
#include "wasm/common/text.hpp"
#include "wasm/core/instance_core.hpp"

namespace warmpool::wasm {
namespace {

using internal::cat;
using internal::InstanceCore;

std::vector<ValueType> types_of(std::span<const Value> args) {
  std::vector<ValueType> types;
  types.reserve(args.size());
  for (const Value& a : args) types.push_back(type_of(a));
  return types;
}

}  // namespace

void Instance::Deleter::operator()(internal::InstanceHead* head) const noexcept {
  delete static_cast<InstanceCore*>(head);
}

InstanceCore& Instance::core() const noexcept {
  return static_cast<InstanceCore&>(*head_);
}

std::expected<Instance, WasmError> Instance::instantiate(const LinkedModule& linked) {
  auto core = std::make_unique<InstanceCore>(linked);
  if (auto built = core->instantiate(); !built) return std::unexpected(std::move(built.error()));
  return Instance(std::unique_ptr<internal::InstanceHead, Deleter>(core.release()));
}

std::expected<std::vector<Value>, WasmError> Instance::call(std::string_view export_name,
                                                            std::span<const Value> args) {
  auto function = module().function(export_name);
  if (!function) return std::unexpected(std::move(function.error()));
  return call(*function, args);
}

std::expected<std::vector<Value>, WasmError> Instance::call(const Function& function,
                                                            std::span<const Value> args) {
  InstanceCore& self = core();
  const FunctionType& type = function.type();
  if (!std::ranges::equal(args, type.params, {}, type_of)) {
    return std::unexpected(WasmError(
        ErrorKind::abi, cat(self.module().name, ": ", function.name(), ": expects ",
                            to_string(type), ", called with ", to_string(types_of(args)))));
  }
  internal::ScratchValues<std::uint64_t> raw_values(args.size()),
      result_values(type.results.size());
  const std::span raw(raw_values.data(), raw_values.size());
  const std::span results(result_values.data(), result_values.size());
  std::ranges::transform(args, raw.begin(), [](const Value& v) { return to_raw(v); });
  if (auto done = call_raw(function, raw, results); !done) {
    return std::unexpected(std::move(done.error()));
  }
  std::vector<Value> values;
  if (self.exited_cleanly()) return values;
  values.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    values.push_back(from_raw(results[i], type.results[i]));
  }
  return values;
}

std::expected<void, WasmError> Instance::call_raw(const Function& function,
                                                  std::span<const std::uint64_t> args,
                                                  std::span<std::uint64_t> results) {
  InstanceCore& self = core();
  if (auto refused = self.check_callable(function)) return std::unexpected(std::move(*refused));
  const FunctionType& type = function.type();
  if (args.size() != type.params.size() || results.size() != type.results.size()) {
    return std::unexpected(
        WasmError(ErrorKind::abi, cat(self.module().name, ": ", function.name(), ": expects ",
                                      to_string(type), ", called with ", args.size(),
                                      " argument(s) and ", results.size(), " result slot(s)")));
  }
  internal::Entered entered(*self.backend);
  InstanceCore::CallScope call(self);
  return self.run(function.index_, args, results);
}

Instance::ThreadBinding::~ThreadBinding() {
  if (head_ != nullptr) static_cast<InstanceCore*>(head_)->unbind_from_this_thread();
}

std::expected<Instance::ThreadBinding, WasmError> Instance::bind_to_this_thread() {
  if (auto bound = core().bind_to_this_thread(); !bound) {
    return std::unexpected(std::move(bound.error()));
  }
  return ThreadBinding(head_.get());
}

MemoryView Instance::memory() {
  InstanceCore& self = core();
  self.require_not_bound_elsewhere("memory()");
  internal::Entered entered(*self.backend);
  return MemoryView(self.backend->memory());
}

void* Instance::host_data_of(const void* type) noexcept {
  return core().host_data_of(type);
}

const std::string& Instance::last_stdout() const {
  return core().wasi.stdout_text;
}
const std::string& Instance::last_stderr() const {
  return core().wasi.stderr_text;
}

bool Instance::reset() {
  return core().reset() != InstanceCore::Reset::failed;
}

Instance* Instance::linked_instance(std::string_view module) noexcept {
  return core().linked_instance(module);
}

const Module& Instance::module() const {
  return core().module_handle();
}

}  // namespace warmpool::wasm
