#include <v8.h>

#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "internal/imports.hpp"
#include "internal/module_impl.hpp"
#include "internal/platform.hpp"
#include "internal/strings.hpp"
#include "warmpool/wasm/v8.hpp"
#include "wasm/common/bytes_abi.hpp"
#include "wasm/common/fuel.hpp"
#include "wasm/common/instantiation_error.hpp"
#include "wasm/common/memory_snapshot.hpp"
#include "wasm/common/prepare.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/wasi.hpp"
#include "wasm/common/watchdog.hpp"

namespace warmpool::wasm::v8 {
namespace {

namespace common = wasm::internal;
using common::cat;
using internal::get;
using internal::host_string;
using internal::v8_string;

// Why the host stopped the guest from inside one of its imports.
enum class HostStop { none, fuel, deadline, exit };

// What running guest code produced: a value, a clean proc_exit(0) (the call succeeds with no
// result, the instance is spent), or an error.
struct Outcome {
  ::v8::Local<::v8::Value> value;
  bool exited = false;
  std::optional<WasmError> error;
  bool ok() const { return !exited && !error; }
};

// Isolate data slot holding the isolate's Instance::Impl, for the import callbacks.
constexpr std::uint32_t kImplSlot = 0;

}  // namespace

struct Instance::Impl {
  // Handles into the isolate; reset as a whole before the isolate is disposed.
  struct Handles {
    ::v8::Global<::v8::Context> context;
    ::v8::Global<::v8::Object> imports;
    // Of the current WebAssembly.Instance (replaced by reset()).
    std::vector<::v8::Global<::v8::Function>> functions;  // parallel to Module::exports()
    ::v8::Global<::v8::Function> alloc;
    ::v8::Global<::v8::Function> free;
    ::v8::Global<::v8::WasmMemoryObject> memory;
    ::v8::Global<::v8::Object> fuel;         // WebAssembly.Global __warmpool_fuel
    ::v8::Global<::v8::Object> grow_failed;  // WebAssembly.Global __warmpool_grow_failed
    // For reset() in place: memory 0 and the mutable globals, under the hidden exports
    // prepare_module adds, and the globals' values right after instantiation.
    ::v8::Global<::v8::WasmMemoryObject> state_memory;
    std::vector<::v8::Global<::v8::Object>> state_globals;
    std::vector<::v8::Global<::v8::Value>> initial_globals;
  };

  // Enters the isolate for the current thread: instances move between threads, so every use
  // takes V8's lock, which also resets the stack limit for the calling thread.
  struct Entered {
    explicit Entered(Impl& impl)
        : locker(impl.isolate),
          isolate_scope(impl.isolate),
          handle_scope(impl.isolate),
          context(impl.handles->context.Get(impl.isolate)),
          context_scope(context) {}
    ::v8::Locker locker;
    ::v8::Isolate::Scope isolate_scope;
    ::v8::HandleScope handle_scope;
    ::v8::Local<::v8::Context> context;
    ::v8::Context::Scope context_scope;
  };

  Impl(std::shared_ptr<const Module> m, const Module::Impl& s)
      : module(std::move(m)), spec(s), timer([this] { isolate->TerminateExecution(); }) {
    wasi.program_name = spec.name;
  }
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::optional<WasmError> create_isolate();
  std::optional<WasmError> instantiate_module(::v8::Local<::v8::Context> context);
  void capture_initial_state(::v8::Local<::v8::Context> context, ::v8::Local<::v8::Object> exports);
  bool restore_initial_state(::v8::Local<::v8::Context> context);
  ::v8::Local<::v8::Object> make_imports(::v8::Local<::v8::Context> context);

  void begin_call(::v8::Local<::v8::Context> context);
  void end_call();
  Outcome invoke(::v8::Local<::v8::Context> context, ::v8::Local<::v8::Function> function,
                 std::span<::v8::Local<::v8::Value>> args, std::string_view what);
  std::optional<WasmError> classify_failure(::v8::Local<::v8::Context> context,
                                            const ::v8::TryCatch& try_catch, std::string_view what);
  std::span<std::uint8_t> memory();
  void stop_guest(HostStop why);

  std::optional<WasmError> not_found(std::string_view export_name) const;

  std::shared_ptr<const Module> module;
  const Module::Impl& spec;
  ::v8::Isolate* isolate = nullptr;
  std::optional<Handles> handles;
  bool healthy = true;
  // The post-instantiation state was captured: reset() can restore it in place.
  bool state_captured = false;
  common::MemorySnapshot initial_memory;

  common::WasiContext wasi;
  common::FuelBudget budget;
  HostStop stop = HostStop::none;
  std::int32_t exit_code = 0;
  common::DeadlineTimer timer;  // armed only during a call
};

namespace {

Instance::Impl& impl_of(::v8::Isolate* isolate) {
  return *static_cast<Instance::Impl*>(isolate->GetData(kImplSlot));
}

::v8::Local<::v8::Value> to_v8(::v8::Isolate* isolate, const Value& value) {
  return std::visit(
      [isolate](auto v) -> ::v8::Local<::v8::Value> {
        using T = decltype(v);
        if constexpr (std::is_same_v<T, std::int32_t>) {
          return ::v8::Integer::New(isolate, v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return ::v8::BigInt::New(isolate, v);
        } else {
          return ::v8::Number::New(isolate, static_cast<double>(v));
        }
      },
      value);
}

Value from_v8(::v8::Local<::v8::Context> context, ::v8::Local<::v8::Value> value, ValueType type) {
  switch (type) {
    case ValueType::i32: return value->Int32Value(context).FromMaybe(0);
    case ValueType::i64: return value.As<::v8::BigInt>()->Int64Value();
    case ValueType::f32: return static_cast<float>(value.As<::v8::Number>()->Value());
    case ValueType::f64: return value.As<::v8::Number>()->Value();
  }
  return std::int32_t{0};
}

// wasi.hpp's convention: i32 zero-extended, i64 as its bits.
std::uint64_t raw_arg(::v8::Local<::v8::Context> context, ::v8::Local<::v8::Value> value,
                      ValueType type) {
  if (type == ValueType::i64) return value.As<::v8::BigInt>()->Uint64Value();
  return value->Uint32Value(context).FromMaybe(0);
}

void wasi_import(const ::v8::FunctionCallbackInfo<::v8::Value>& info) {
  auto* isolate = info.GetIsolate();
  auto& impl = impl_of(isolate);
  const auto& function =
      *static_cast<const common::WasiFunction*>(info.Data().As<::v8::External>()->Value());
  auto context = isolate->GetCurrentContext();
  std::array<std::uint64_t, 8> raw{};
  const auto& params = function.type.params;
  // check_imports guaranteed the guest's signature, hence the argument count.
  for (std::size_t i = 0; i < params.size() && i < raw.size(); ++i) {
    raw[i] = raw_arg(context, info[static_cast<int>(i)], params[i]);
  }
  auto result = function.handler(impl.wasi, impl.memory(), std::span(raw.data(), params.size()));
  if (!result) {
    impl.exit_code = result.error().code;
    impl.stop_guest(HostStop::exit);
    return;
  }
  if (!function.type.results.empty()) info.GetReturnValue().Set(*result);
}

void out_of_fuel_import(const ::v8::FunctionCallbackInfo<::v8::Value>& info) {
  auto* isolate = info.GetIsolate();
  auto& impl = impl_of(isolate);
  auto slice = impl.budget.refill(impl.timer.expired());
  if (!slice) {
    impl.stop_guest(slice.error() == common::StopReason::fuel ? HostStop::fuel
                                                              : HostStop::deadline);
    return;
  }
  info.GetReturnValue().Set(::v8::BigInt::New(isolate, *slice));
}

std::string export_names(const std::vector<ExportedFunction>& exports) {
  std::string names;
  for (const auto& e : exports) {
    if (!names.empty()) names += ", ";
    names += e.name;
  }
  return names;
}

std::string describe_args(std::span<const Value> args) {
  FunctionType type;
  for (const auto& a : args) type.params.push_back(static_cast<ValueType>(a.index()));
  auto text = internal::describe(type);
  return text.substr(0, text.find(" ->"));
}

}  // namespace

Instance::Impl::~Impl() {
  if (isolate == nullptr) return;
  {
    ::v8::Locker locker(isolate);
    ::v8::Isolate::Scope isolate_scope(isolate);
    handles.reset();
  }
  isolate->Dispose();
}

void Instance::Impl::stop_guest(HostStop why) {
  stop = why;
  // Termination cannot be caught by the guest (not even by wasm exception handling); the
  // thrown error unwinds right away instead of at the guest's next stack check.
  isolate->TerminateExecution();
  isolate->ThrowError(v8_string(isolate, "warmpool: call stopped by the host"));
}

std::span<std::uint8_t> Instance::Impl::memory() {
  if (handles->memory.IsEmpty()) return {};
  auto buffer = handles->memory.Get(isolate)->Buffer();
  return {static_cast<std::uint8_t*>(buffer->Data()), buffer->ByteLength()};
}

std::optional<WasmError> Instance::Impl::not_found(std::string_view export_name) const {
  return WasmError(ErrorKind::abi, cat(spec.name, ": export '", export_name,
                                       "' not found (exports: ", export_names(spec.exports), ")"));
}

::v8::Local<::v8::Object> Instance::Impl::make_imports(::v8::Local<::v8::Context> context) {
  auto wasi_object = ::v8::Object::New(isolate);
  for (const auto& function : common::wasi_functions()) {
    auto data = ::v8::External::New(isolate, const_cast<common::WasiFunction*>(&function));
    auto fn = ::v8::Function::New(context, wasi_import, data).ToLocalChecked();
    wasi_object->Set(context, v8_string(isolate, function.name), fn).Check();
  }
  auto metering = ::v8::Object::New(isolate);
  metering
      ->Set(context, v8_string(isolate, common::kOutOfFuelImport),
            ::v8::Function::New(context, out_of_fuel_import).ToLocalChecked())
      .Check();
  auto imports = ::v8::Object::New(isolate);
  imports->Set(context, v8_string(isolate, common::kWasiModule), wasi_object).Check();
  imports->Set(context, v8_string(isolate, common::kMeteringModule), metering).Check();
  return imports;
}

std::optional<WasmError> Instance::Impl::create_isolate() {
  auto params = internal::isolate_params();
  isolate = ::v8::Isolate::New(params);
  isolate->SetData(kImplSlot, this);
  ::v8::Locker locker(isolate);
  ::v8::Isolate::Scope isolate_scope(isolate);
  ::v8::HandleScope handle_scope(isolate);
  auto context = ::v8::Context::New(isolate);
  ::v8::Context::Scope context_scope(context);
  handles.emplace();
  handles->context.Reset(isolate, context);
  handles->imports.Reset(isolate, make_imports(context));
  return instantiate_module(context);
}

std::optional<WasmError> Instance::Impl::instantiate_module(::v8::Local<::v8::Context> context) {
  ::v8::TryCatch try_catch(isolate);
  auto fail = [&](std::string_view step) {
    auto kind = ErrorKind::instantiate;
    if (try_catch.HasCaught() && !try_catch.HasTerminated()) {
      auto name = get(context, try_catch.Exception().As<::v8::Object>(), "name");
      if (!name.IsEmpty() && host_string(isolate, name.ToLocalChecked()) == "LinkError") {
        kind = ErrorKind::link;
      }
    }
    return WasmError(kind, cat(spec.name, ": ", step, ": ",
                               try_catch.HasCaught() ? host_string(isolate, try_catch.Exception())
                                                     : std::string("failed")));
  };
  ::v8::Local<::v8::WasmModuleObject> module_object;
  if (!::v8::WasmModuleObject::FromCompiledModule(isolate, *spec.compiled)
           .ToLocal(&module_object)) {
    return fail("cannot adopt the compiled module");
  }
  ::v8::Local<::v8::Value> web_assembly, instance_ctor, instance_value, exports_value;
  if (!get(context, context->Global(), "WebAssembly").ToLocal(&web_assembly) ||
      !get(context, web_assembly.As<::v8::Object>(), "Instance").ToLocal(&instance_ctor)) {
    return fail("WebAssembly.Instance is unavailable");
  }
  std::array<::v8::Local<::v8::Value>, 2> argv{module_object, handles->imports.Get(isolate)};
  ::v8::Local<::v8::Object> instance;
  // A start function runs inside the constructor, under one call's limits.
  stop = HostStop::none;
  budget.begin_empty(spec.limits.fuel);
  if (spec.limits.timeout.count() > 0) timer.arm(spec.limits.timeout);
  const bool constructed = instance_ctor.As<::v8::Function>()
                               ->NewInstance(context, static_cast<int>(argv.size()), argv.data())
                               .ToLocal(&instance);
  timer.disarm();  // settle expired() before reading it
  if (stop != HostStop::none || timer.expired()) {
    auto error = classify_failure(context, try_catch, "start function");
    end_call();
    if (!error) {  // proc_exit(0): the instance never finished being built
      return WasmError(ErrorKind::instantiate,
                       cat(spec.name, ": start function: exited with code 0"));
    }
    return common::failed_while_instantiating(*error);
  }
  if (!constructed || !get(context, instance, "exports").ToLocal(&exports_value)) {
    return fail("instantiation failed");
  }
  auto exports = exports_value.As<::v8::Object>();
  auto lookup = [&](std::string_view name) {
    ::v8::Local<::v8::Value> v;
    if (!get(context, exports, name).ToLocal(&v) || v->IsUndefined())
      return ::v8::Local<::v8::Value>();
    return v;
  };

  handles->functions.clear();
  for (const auto& e : spec.exports) {
    handles->functions.emplace_back(isolate, lookup(e.name).As<::v8::Function>());
  }
  auto object = [&](std::string_view name) {
    auto v = lookup(name);
    return v.IsEmpty() || !v->IsObject() ? ::v8::Local<::v8::Object>() : v.As<::v8::Object>();
  };
  // Only exports of the ABI's types are bound; anything else reads as "missing" to callers.
  auto function = [&](std::string_view name, std::initializer_list<ValueType> params,
                      std::initializer_list<ValueType> results) {
    const auto* f = module->find_export(name);
    return f != nullptr && common::has_type(*f, params, results) ? lookup(name).As<::v8::Function>()
                                                                 : ::v8::Local<::v8::Function>();
  };
  auto memory = lookup(common::kMemoryExport);
  handles->memory.Reset(isolate, !memory.IsEmpty() && memory->IsWasmMemoryObject()
                                     ? memory.As<::v8::WasmMemoryObject>()
                                     : ::v8::Local<::v8::WasmMemoryObject>());
  handles->fuel.Reset(isolate, object(common::kFuelGlobalExport));
  handles->grow_failed.Reset(isolate, object(common::kGrowFailedGlobalExport));
  handles->alloc.Reset(isolate, function(common::kAllocExport, {ValueType::i32}, {ValueType::i32}));
  handles->free.Reset(isolate, function(common::kFreeExport, {ValueType::i32}, {}));

  // A WASI reactor initialises its C runtime here, under the same limits as any call.
  if (const auto* init = module->find_export(common::kInitializeExport)) {
    if (!common::has_type(*init, {}, {})) {
      return WasmError(ErrorKind::abi,
                       cat(spec.name, ": export '_initialize' must have type () -> ()"));
    }
    const auto index = static_cast<std::size_t>(init - spec.exports.data());
    begin_call(context);
    auto outcome =
        invoke(context, handles->functions[index].Get(isolate), {}, common::kInitializeExport);
    if (outcome.ok()) end_call();
    if (outcome.exited) {
      return WasmError(ErrorKind::instantiate,
                       cat(spec.name, ": ", common::kInitializeExport, ": exited with code 0"));
    }
    if (outcome.error) return common::failed_while_instantiating(*outcome.error);
  }
  capture_initial_state(context, exports);
  return std::nullopt;
}

// Only for modules whose whole mutable state is memory 0 and globals (no table writes, no
// dropped segments: ExposedState::restorable_in_place); anything else is reset by
// re-instantiating.
void Instance::Impl::capture_initial_state(::v8::Local<::v8::Context> context,
                                           ::v8::Local<::v8::Object> exports) {
  state_captured = false;
  if (!spec.state.restorable_in_place()) return;
  handles->state_globals.clear();
  handles->initial_globals.clear();
  for (const auto& name : spec.state.globals) {
    ::v8::Local<::v8::Value> global, value;
    if (!get(context, exports, name).ToLocal(&global) || !global->IsObject() ||
        !get(context, global.As<::v8::Object>(), "value").ToLocal(&value)) {
      return;
    }
    handles->state_globals.emplace_back(isolate, global.As<::v8::Object>());
    handles->initial_globals.emplace_back(isolate, value);
  }
  handles->state_memory.Reset();
  if (!spec.state.memory.empty()) {
    ::v8::Local<::v8::Value> memory;
    if (!get(context, exports, spec.state.memory).ToLocal(&memory) ||
        !memory->IsWasmMemoryObject()) {
      return;
    }
    auto buffer = memory.As<::v8::WasmMemoryObject>()->Buffer();
    initial_memory.capture(static_cast<const std::uint8_t*>(buffer->Data()), buffer->ByteLength());
    handles->state_memory.Reset(isolate, memory.As<::v8::WasmMemoryObject>());
  }
  state_captured = true;
}

// False when the state cannot be put back in place (not captured, or memory grew: a wasm
// memory never shrinks); the caller then re-instantiates.
bool Instance::Impl::restore_initial_state(::v8::Local<::v8::Context> context) {
  if (!state_captured) return false;
  if (!handles->state_memory.IsEmpty()) {
    auto buffer = handles->state_memory.Get(isolate)->Buffer();
    if (buffer->ByteLength() != initial_memory.size()) return false;
    initial_memory.restore(static_cast<std::uint8_t*>(buffer->Data()));
  }
  ::v8::TryCatch try_catch(isolate);
  auto value_key = v8_string(isolate, "value");
  for (std::size_t i = 0; i < handles->state_globals.size(); ++i) {
    if (!handles->state_globals[i]
             .Get(isolate)
             ->Set(context, value_key, handles->initial_globals[i].Get(isolate))
             .FromMaybe(false)) {
      return false;
    }
  }
  return true;
}

void Instance::Impl::begin_call(::v8::Local<::v8::Context> context) {
  wasi.stdout_text.clear();
  wasi.stderr_text.clear();
  stop = HostStop::none;
  if (!handles->fuel.IsEmpty()) {
    handles->fuel.Get(isolate)
        ->Set(context, v8_string(isolate, "value"),
              ::v8::BigInt::New(isolate, budget.begin(spec.limits.fuel)))
        .Check();
  }
  if (!handles->grow_failed.IsEmpty()) {
    handles->grow_failed.Get(isolate)
        ->Set(context, v8_string(isolate, "value"), ::v8::Integer::New(isolate, 0))
        .Check();
  }
  if (spec.limits.timeout.count() > 0) timer.arm(spec.limits.timeout);
}

void Instance::Impl::end_call() {
  timer.disarm();
  // A deadline that fired after the guest returned leaves a termination request behind.
  if (timer.expired() || stop != HostStop::none) isolate->CancelTerminateExecution();
}

Outcome Instance::Impl::invoke(::v8::Local<::v8::Context> context,
                               ::v8::Local<::v8::Function> function,
                               std::span<::v8::Local<::v8::Value>> args, std::string_view what) {
  ::v8::TryCatch try_catch(isolate);
  Outcome outcome;
  if (function->Call(context, ::v8::Undefined(isolate), static_cast<int>(args.size()), args.data())
          .ToLocal(&outcome.value)) {
    return outcome;
  }
  timer.disarm();  // settle expired() before reading it
  outcome.error = classify_failure(context, try_catch, what);
  outcome.exited = !outcome.error;
  healthy = false;
  end_call();
  return outcome;
}

std::optional<WasmError> Instance::Impl::classify_failure(::v8::Local<::v8::Context> context,
                                                          const ::v8::TryCatch& try_catch,
                                                          std::string_view what) {
  const auto& limits = spec.limits;
  switch (stop) {
    case HostStop::exit:
      if (exit_code == 0) return std::nullopt;
      return WasmError(ErrorKind::trap,
                       cat(spec.name, ": ", what, ": exited with code ", exit_code));
    case HostStop::fuel:
      return WasmError(ErrorKind::fuel_exhausted,
                       cat(spec.name, ": ", what, ": fuel exhausted (limit ", limits.fuel, ")"));
    case HostStop::deadline:
    case HostStop::none: break;
  }
  if (stop == HostStop::deadline || timer.expired()) {
    return WasmError(ErrorKind::deadline, cat(spec.name, ": ", what, ": deadline of ",
                                              limits.timeout.count(), " ms exceeded"));
  }
  if (!handles->grow_failed.IsEmpty()) {
    ::v8::Local<::v8::Value> flag;
    isolate->CancelTerminateExecution();
    if (get(context, handles->grow_failed.Get(isolate), "value").ToLocal(&flag) &&
        flag->Int32Value(context).FromMaybe(0) == 1) {
      return WasmError(ErrorKind::memory_limit, cat(spec.name, ": ", what, ": memory limit of ",
                                                    limits.max_memory_pages, " pages reached"));
    }
  }
  return WasmError(ErrorKind::trap,
                   cat(spec.name, ": ", what, ": ",
                       try_catch.HasCaught() ? host_string(isolate, try_catch.Exception())
                                             : std::string("execution terminated")));
}

// ---------------------------------------------------------------------------------------------

Instance::Instance(std::unique_ptr<Impl> impl) noexcept : impl_(impl.release()) {}
void Instance::ImplDeleter::operator()(Impl* impl) const noexcept {
  delete impl;
}

std::expected<Instance, WasmError> Instance::instantiate(std::shared_ptr<const Module> module) {
  if (module == nullptr) {
    return std::unexpected(WasmError(ErrorKind::instantiate, "instantiate: no module (null)"));
  }
  const Module::Impl& spec = *module->impl_;
  if (spec.link_error) return std::unexpected(*spec.link_error);
  auto impl = std::make_unique<Impl>(std::move(module), spec);
  if (auto error = impl->create_isolate()) return std::unexpected(std::move(*error));
  return Instance(std::move(impl));
}

std::expected<std::vector<Value>, WasmError> Instance::call(std::string_view export_name,
                                                            std::span<const Value> args) {
  auto& impl = *impl_;
  const auto* f = impl.module->find_export(export_name);
  if (f == nullptr) return std::unexpected(*impl.not_found(export_name));
  const auto& params = f->type.params;
  bool matches = args.size() == params.size();
  for (std::size_t i = 0; matches && i < args.size(); ++i) {
    matches = static_cast<ValueType>(args[i].index()) == params[i];
  }
  if (!matches) {
    return std::unexpected(WasmError(
        ErrorKind::abi, cat(impl.spec.name, ": ", export_name, ": expects ",
                            internal::describe(f->type), ", called with ", describe_args(args))));
  }
  if (!impl.healthy) {
    return std::unexpected(
        WasmError(ErrorKind::trap, cat(impl.spec.name, ": ", export_name,
                                       ": instance was stopped earlier; create a new one")));
  }

  Impl::Entered entered(impl);
  auto context = entered.context;
  std::vector<::v8::Local<::v8::Value>> argv;
  argv.reserve(args.size());
  for (const auto& a : args) argv.push_back(to_v8(impl.isolate, a));
  const auto index = static_cast<std::size_t>(f - impl.spec.exports.data());

  impl.begin_call(context);
  auto outcome =
      impl.invoke(context, impl.handles->functions[index].Get(impl.isolate), argv, export_name);
  if (outcome.error) return std::unexpected(std::move(*outcome.error));
  if (outcome.exited) return std::vector<Value>{};
  impl.end_call();

  const auto& results = f->type.results;
  std::vector<Value> values;
  auto value = outcome.value;
  if (results.size() == 1) {
    values.push_back(from_v8(context, value, results.front()));
  } else if (results.size() > 1) {
    auto array = value.As<::v8::Array>();
    for (std::uint32_t i = 0; i < results.size(); ++i) {
      values.push_back(from_v8(context, array->Get(context, i).ToLocalChecked(), results[i]));
    }
  }
  return values;
}

std::expected<BytesOutput, WasmError> Instance::call_bytes(std::string_view export_name,
                                                           std::span<const std::uint8_t> input) {
  auto& impl = *impl_;
  const auto& name = impl.spec.name;
  const auto* f = impl.module->find_export(export_name);
  if (f == nullptr) return std::unexpected(*impl.not_found(export_name));
  if (auto bad = common::check_bytes_export(f, export_name, name)) return std::unexpected(*bad);
  auto abi_error = [&](std::string what) {
    return std::unexpected(WasmError(ErrorKind::abi, cat(name, ": ", export_name, ": ", what)));
  };
  if (impl.handles->alloc.IsEmpty()) {
    return abi_error("bytes calls need the export wp_alloc: (i32) -> i32");
  }
  if (impl.handles->memory.IsEmpty()) {
    return abi_error(cat("bytes calls need the memory exported as '", common::kMemoryExport, "'"));
  }
  if (input.size() > std::numeric_limits<std::int32_t>::max()) {
    return abi_error("input larger than 2 GiB");
  }
  if (!impl.healthy) {
    return std::unexpected(WasmError(
        ErrorKind::trap,
        cat(name, ": ", export_name, ": instance was stopped earlier; create a new one")));
  }

  Impl::Entered entered(impl);
  auto* isolate = impl.isolate;
  auto context = entered.context;
  auto u32 = [isolate](std::uint32_t v) { return ::v8::Integer::NewFromUnsigned(isolate, v); };
  auto finish = [&](std::string output) -> std::expected<BytesOutput, WasmError> {
    return BytesOutput{std::move(output), impl.wasi.stdout_text, impl.wasi.stderr_text};
  };
  auto stopped = [&](Outcome& outcome) -> std::expected<BytesOutput, WasmError> {
    if (outcome.exited) return finish({});
    return std::unexpected(std::move(*outcome.error));
  };
  // The guest broke the ABI after running: the call ends, the instance's state is intact.
  auto broken = [&](std::string what) -> std::expected<BytesOutput, WasmError> {
    impl.end_call();
    return abi_error(std::move(what));
  };

  impl.begin_call(context);
  const auto len = static_cast<std::uint32_t>(input.size());
  std::uint32_t ptr = 0;
  if (len > 0) {  // nothing to allocate for an empty input: the export gets (0, 0)
    std::array<::v8::Local<::v8::Value>, 1> alloc_args{u32(len)};
    auto allocated =
        impl.invoke(context, impl.handles->alloc.Get(isolate), alloc_args, common::kAllocExport);
    if (!allocated.ok()) return stopped(allocated);
    ptr = allocated.value->Uint32Value(context).FromMaybe(0);
    auto mem = impl.memory();
    if (ptr == 0) {
      return broken(cat(common::kAllocExport, "(", len, ") returned 0 (out of memory)"));
    }
    if (!common::in_bounds(mem.size(), ptr, len)) {
      return broken(cat(common::kAllocExport, "(", len, ") returned ", ptr, ", outside memory of ",
                        mem.size(), " bytes"));
    }
    std::memcpy(mem.data() + ptr, input.data(), len);
  }

  std::array<::v8::Local<::v8::Value>, 2> call_args{u32(ptr), u32(len)};
  const auto index = static_cast<std::size_t>(f - impl.spec.exports.data());
  auto called =
      impl.invoke(context, impl.handles->functions[index].Get(isolate), call_args, export_name);
  if (!called.ok()) return stopped(called);
  const auto range = common::unpack_output(called.value.As<::v8::BigInt>()->Int64Value());
  auto mem = impl.memory();
  if (!common::in_bounds(mem.size(), range.ptr, range.len)) {
    return broken(cat("returned output [", range.ptr, ", ", range.ptr + std::uint64_t{range.len},
                      ") outside memory of ", mem.size(), " bytes"));
  }
  std::string output(reinterpret_cast<const char*>(mem.data()) + range.ptr, range.len);

  if (!impl.handles->free.IsEmpty()) {
    for (std::uint32_t p : {ptr, range.ptr != ptr ? range.ptr : 0u}) {
      if (p == 0) continue;
      std::array<::v8::Local<::v8::Value>, 1> free_args{u32(p)};
      auto freed =
          impl.invoke(context, impl.handles->free.Get(isolate), free_args, common::kFreeExport);
      if (!freed.ok()) return stopped(freed);
    }
  }
  impl.end_call();
  return finish(std::move(output));
}

const std::string& Instance::last_stdout() const {
  return impl_->wasi.stdout_text;
}
const std::string& Instance::last_stderr() const {
  return impl_->wasi.stderr_text;
}
bool Instance::healthy() const {
  return impl_->healthy;
}
const Module& Instance::module() const {
  return *impl_->module;
}

bool Instance::reset() {
  auto& impl = *impl_;
  if (!impl.healthy) return false;
  Impl::Entered entered(impl);
  if (impl.restore_initial_state(entered.context)) return true;
  if (auto error = impl.instantiate_module(entered.context)) {
    impl.healthy = false;
    return false;
  }
  return true;
}

Lifecycle<Instance> lifecycle() {
  Lifecycle<Instance> lc;
  lc.reset = [](Instance& instance) { return instance.reset(); };
  lc.is_healthy = [](const Instance& instance) { return instance.healthy(); };
  return lc;
}

}  // namespace warmpool::wasm::v8
