// V8 behind the embedding API's backend interface. Each instance is a WebAssembly.Instance in
// an isolate of its own, recycled from destroyed instances (internal/isolate_set.hpp says why
// and what it costs), shared only with the instances linked to it (Linker::define_instance),
// whose exports its imports then name directly; the compiled module is shared by every isolate
// (CompiledWasmModule), and its module object and import functions are made once per isolate
// and kept there. A destroyed instance of a module without imports (the Extism kernel beside
// each plugin) is kept there too, restored, for the module's next instance in the isolate.
#include <v8.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "internal/isolate_set.hpp"
#include "internal/platform.hpp"
#include "internal/strings.hpp"
#include "wasm/common/bytes_abi.hpp"
#include "wasm/common/memory_snapshot.hpp"
#include "wasm/common/scratch_values.hpp"
#include "wasm/core/backend.hpp"

namespace warmpool::wasm::internal {
namespace {

using v8::internal::get;
using v8::internal::HomeIsolate;
using v8::internal::host_string;
using v8::internal::ImportTarget;
using v8::internal::IsolateEntry;
using v8::internal::IsolateHold;
using v8::internal::v8_string;

::v8::Local<::v8::Value> to_v8(::v8::Isolate* isolate, std::uint64_t bits, ValueType type) {
  const Value value = from_raw(bits, type);
  switch (type) {
    case ValueType::i32: return ::v8::Integer::New(isolate, std::get<std::int32_t>(value));
    case ValueType::i64: return ::v8::BigInt::New(isolate, std::get<std::int64_t>(value));
    case ValueType::f32: return ::v8::Number::New(isolate, std::get<float>(value));
    case ValueType::f64: return ::v8::Number::New(isolate, std::get<double>(value));
  }
  return ::v8::Undefined(isolate);
}

// What wasm hands the host always has the declared type (the JS API converts it).
std::uint64_t from_v8(::v8::Local<::v8::Context> context, ::v8::Local<::v8::Value> value,
                      ValueType type) {
  switch (type) {
    case ValueType::i32:
      return to_raw(value->IsInt32() ? value.As<::v8::Int32>()->Value()
                                     : value->Int32Value(context).FromMaybe(0));
    case ValueType::i64:
      return value->IsBigInt() ? static_cast<std::uint64_t>(value.As<::v8::BigInt>()->Int64Value())
                               : 0;
    case ValueType::f32:
      return to_raw(static_cast<float>(value->NumberValue(context).FromMaybe(0)));
    case ValueType::f64: return to_raw(value->NumberValue(context).FromMaybe(0));
  }
  return 0;
}

// A short-lived isolate that compiles a module. The compiled code outlives it: V8's native
// module is process-wide and refcounted by the CompiledWasmModule handle.
class CompileIsolate {
 public:
  CompileIsolate() {
    auto params = v8::internal::isolate_params();
    isolate_ = ::v8::Isolate::New(params);
  }
  ~CompileIsolate() { isolate_->Dispose(); }
  CompileIsolate(const CompileIsolate&) = delete;
  CompileIsolate& operator=(const CompileIsolate&) = delete;
  ::v8::Isolate* get() const { return isolate_; }

 private:
  ::v8::Isolate* isolate_;
};

class V8Module final : public BackendModule {
 public:
  explicit V8Module(BackendModuleSpec s)
      : spec(std::move(s)), id(v8::internal::register_module()) {}
  ~V8Module() override { v8::internal::unregister_module(id); }
  V8Module(const V8Module&) = delete;
  V8Module& operator=(const V8Module&) = delete;
  std::unique_ptr<BackendInstance> create_instance(ImportHandler& imports,
                                                   const InstanceLinks& links) const override;

  // What instantiating in `home` needs: the module object and the import object, made on
  // first use and kept in the isolate. Only while `home` is entered.
  v8::internal::ModuleState* in_isolate(HomeIsolate& home, std::string* error) const;

  BackendModuleSpec spec;
  std::shared_ptr<::v8::CompiledWasmModule> compiled;
  const std::uint64_t id;  // names its states in the isolates

 private:
  friend class V8Instance;
  ::v8::Local<::v8::Object> make_imports(::v8::Isolate* isolate, ::v8::Local<::v8::Context> context,
                                         const ImportTarget* targets) const;
};

class V8Instance final : public BackendInstance {
 public:
  V8Instance(const V8Module& module, ImportHandler& imports, const InstanceLinks& links);
  ~V8Instance() override;
  V8Instance(const V8Instance&) = delete;
  V8Instance& operator=(const V8Instance&) = delete;

  // Instances move between threads, so every use takes V8's lock, which also resets the
  // stack limit for the calling thread; a thread binding keeps it between uses, which then
  // only open a HandleScope. Nothing else uses the isolate: it never waits. Nested entries (a
  // host function reaching back into its own instance) share the outermost one's scopes.
  void enter() override {
    take_hold();
    if (entries_++ > 0) return;
    entry_.emplace(home_);
    holds_isolate_.store(true, std::memory_order_release);
  }
  void leave() override {
    if (--entries_ == 0) {
      holds_isolate_.store(false, std::memory_order_release);
      entry_.reset();
    }
    drop_hold();
  }
  void bind_thread() override { take_hold(); }
  void unbind_thread() override { drop_hold(); }

  bool instantiate(std::string* error) override;
  bool invoke(std::uint32_t index, std::span<const std::uint64_t> args,
              std::span<std::uint64_t> results, std::string* trap) override;
  std::span<std::uint8_t> memory() override;
  std::uint64_t global(GlobalSlot slot) override;
  void set_global(GlobalSlot slot, std::uint64_t bits) override;
  void snapshot() override;
  bool restore() override;
  bool reinstantiates() const override { return true; }
  // Only while the instance is entered: a termination left pending would stop its next call.
  void interrupt() override {
    if (holds_isolate_.load(std::memory_order_acquire)) isolate_->TerminateExecution();
  }
  void clear_interrupt() override {
    if (holds_isolate_.load(std::memory_order_relaxed)) isolate_->CancelTerminateExecution();
  }

 private:
  // Handles into the isolate; reset as a whole, under its lock, when the instance goes.
  struct Handles {
    // Of the current WebAssembly.Instance (replaced when it is instantiated again).
    ::v8::Global<::v8::Object> exports;
    std::vector<::v8::Global<::v8::Function>> functions;  // per BackendModuleSpec::functions
    ::v8::Global<::v8::WasmMemoryObject> memory;
    std::array<::v8::Global<::v8::Object>, kGlobalSlots> globals;  // WebAssembly.Global objects
    // For restore(): the mutable globals under the hidden exports prepare_module adds, and
    // their values right after instantiation.
    std::vector<::v8::Global<::v8::Object>> state_globals;
    std::vector<::v8::Global<::v8::Value>> initial_globals;
  };

  // What a destroyed instance leaves in its module's state for the next instance there.
  struct SpareInstance {
    Handles handles;
    MemorySnapshot initial_memory;
  };

  friend class V8Module;
  // A module without imports (no host function can reach the instance, so nothing ties it to
  // its importer) and without `_initialize` (which the core runs after instantiate(): on a
  // spare it would run twice); its state must also be one restore() puts back in place.
  static bool can_be_spare(const V8Module& module);
  // Restores the instance and leaves it in the module's state for the next instance of the
  // module in this isolate; false when it cannot be (the caller then drops it).
  bool leave_as_spare();
  static void import_callback(const ::v8::FunctionCallbackInfo<::v8::Value>& info);
  ::v8::Local<::v8::Context> context() const { return hold_->context(); }
  void take_hold() {
    if (hold_users_++ == 0) hold_.emplace(home_);
  }
  void drop_hold() {
    if (--hold_users_ == 0) hold_.reset();
  }
  ::v8::Local<::v8::Value> exported(std::string_view name);
  // Points the import object's linked imports at their exporters' functions.
  bool link_imports(::v8::Local<::v8::Object> imports, std::string* error);

  const V8Module& module_;  // may go before the instance: the destructor uses the two below
  const std::uint64_t module_id_;
  const bool can_be_spare_;
  ImportHandler& imports_;
  const InstanceLinks& links_;
  // The isolate is this instance's own, or that of the instance it is linked to (links_.home).
  const bool owns_home_;
  HomeIsolate& home_;
  ::v8::Isolate* isolate_;
  Handles handles_;
  std::optional<IsolateHold> hold_;
  std::optional<IsolateEntry> entry_;
  // Between enter() and leave(); read by the watchdog.
  std::atomic<bool> holds_isolate_{false};
  // Users of hold_: open entries and the thread binding, all on the thread that holds it.
  std::uint32_t hold_users_ = 0;
  std::uint32_t entries_ = 0;
  // The post-instantiation state was captured: restore() can put it back in place.
  bool state_captured_ = false;
  // This instance took a spare's state (instantiate()): snapshot() keeps the spare's.
  bool took_spare_ = false;
  MemorySnapshot initial_memory_;
};

std::unique_ptr<BackendInstance> V8Module::create_instance(ImportHandler& imports,
                                                           const InstanceLinks& links) const {
  return std::make_unique<V8Instance>(*this, imports, links);
}

v8::internal::ModuleState* V8Module::in_isolate(HomeIsolate& home, std::string* error) const {
  if (auto* state = home.module_state(id)) return state;
  auto* isolate = home.isolate();
  ::v8::TryCatch try_catch(isolate);
  ::v8::Local<::v8::WasmModuleObject> module_object;
  if (!::v8::WasmModuleObject::FromCompiledModule(isolate, *compiled).ToLocal(&module_object)) {
    *error = "cannot adopt the compiled module: " +
             (try_catch.HasCaught() ? host_string(isolate, try_catch.Exception())
                                    : std::string("failed"));
    return nullptr;
  }
  auto& state = home.add_module_state(id);
  state.targets = std::make_unique<ImportTarget[]>(spec.imports.size());
  for (std::uint32_t i = 0; i < spec.imports.size(); ++i)
    state.targets[i] = {state.instance.get(), i};
  state.imports.Reset(isolate, make_imports(isolate, home.context(), state.targets.get()));
  state.module_object.Reset(isolate, module_object);
  return &state;
}

V8Instance::V8Instance(const V8Module& module, ImportHandler& imports, const InstanceLinks& links)
    : module_(module),
      module_id_(module.id),
      can_be_spare_(can_be_spare(module)),
      imports_(imports),
      links_(links),
      owns_home_(links.home == nullptr),
      home_(owns_home_ ? v8::internal::acquire_isolate(module.id)
                       : static_cast<V8Instance*>(links.home)->home_),
      isolate_(home_.isolate()) {}

V8Instance::~V8Instance() {
  entry_.reset();
  hold_.reset();
  hold_users_ = 0;
  take_hold();
  if (!leave_as_spare()) handles_ = {};
  hold_.reset();
  if (owns_home_) v8::internal::release_isolate(home_);
}

bool V8Instance::can_be_spare(const V8Module& module) {
  return module.spec.imports.empty() &&
         std::ranges::none_of(module.spec.functions, [](const ExportedFunction& f) {
           return f.name == kInitializeExport;
         });
}

// Instantiating the Extism kernel module beside every plugin instance cost ~30 us of a pool
// miss's ~120 (a memory reservation of several GiB, one export wrapper per function); a
// spare costs restoring its memory from the snapshot (a compare of its 64 KiB) when its
// importer goes. The restore happens here, so nothing of the last user's state stays behind.
bool V8Instance::leave_as_spare() {
  if (!can_be_spare_ || !state_captured_ || handles_.exports.IsEmpty()) return false;
  // A module that went is forgotten here when the isolate goes back, its spare with it.
  v8::internal::ModuleState* state = home_.module_state(module_id_);
  if (state == nullptr || state->spare_instance != nullptr) return false;
  if (isolate_->IsExecutionTerminating() || !restore()) return false;
  state->spare_instance = std::make_shared<SpareInstance>(
      SpareInstance{std::move(handles_), std::move(initial_memory_)});
  return true;
}

// One JS function per import, all calling the same trampoline with the import's target: its
// index and the cell holding the module's live instance in the isolate.
::v8::Local<::v8::Object> V8Module::make_imports(::v8::Isolate* isolate,
                                                 ::v8::Local<::v8::Context> context,
                                                 const ImportTarget* targets) const {
  auto imports = ::v8::Object::New(isolate);
  for (std::uint32_t i = 0; i < spec.imports.size(); ++i) {
    auto module_key = v8_string(isolate, spec.import_modules[i]);
    ::v8::Local<::v8::Value> existing;
    ::v8::Local<::v8::Object> namespace_object;
    if (imports->Get(context, module_key).ToLocal(&existing) && existing->IsObject()) {
      namespace_object = existing.As<::v8::Object>();
    } else {
      namespace_object = ::v8::Object::New(isolate);
      imports->Set(context, module_key, namespace_object).Check();
    }
    auto fn =
        ::v8::Function::New(context, V8Instance::import_callback,
                            ::v8::External::New(isolate, const_cast<ImportTarget*>(&targets[i])))
            .ToLocalChecked();
    namespace_object->Set(context, v8_string(isolate, spec.import_names[i]), fn).Check();
  }
  return imports;
}

void V8Instance::import_callback(const ::v8::FunctionCallbackInfo<::v8::Value>& info) {
  auto* isolate = info.GetIsolate();
  const auto& target = *static_cast<const ImportTarget*>(info.Data().As<::v8::External>()->Value());
  auto& self = *static_cast<V8Instance*>(*target.instance);
  const std::uint32_t index = target.index;
  const FunctionType& type = self.module_.spec.imports[index];
  auto context = self.context();
  ScratchValues<std::uint64_t> arg_values(type.params.size()), result_values(type.results.size());
  const std::span args(arg_values.data(), arg_values.size());
  const std::span results(result_values.data(), result_values.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    args[i] = from_v8(context, info[static_cast<int>(i)], type.params[i]);
  }
  if (!self.imports_.call_import(index, args, results)) {
    // Termination cannot be caught by the guest (not even by wasm exception handling); the
    // thrown error unwinds right away instead of at the guest's next stack check.
    isolate->TerminateExecution();
    isolate->ThrowError(v8_string(isolate, "warmpool: call stopped by the host"));
    return;
  }
  if (results.size() == 1) {
    info.GetReturnValue().Set(to_v8(isolate, results[0], type.results[0]));
  } else if (results.size() > 1) {
    std::vector<::v8::Local<::v8::Value>> values;
    for (std::size_t i = 0; i < results.size(); ++i) {
      values.push_back(to_v8(isolate, results[i], type.results[i]));
    }
    info.GetReturnValue().Set(::v8::Array::New(isolate, values.data(), values.size()));
  }
}

::v8::Local<::v8::Value> V8Instance::exported(std::string_view name) {
  ::v8::Local<::v8::Value> value;
  if (!get(context(), handles_.exports.Get(isolate_), name).ToLocal(&value) ||
      value->IsUndefined()) {
    return {};
  }
  return value;
}

bool V8Instance::instantiate(std::string* error) {
  auto context = this->context();
  ::v8::Context::Scope context_scope(context);  // import functions and objects are made here
  ::v8::TryCatch try_catch(isolate_);
  auto fail = [&](std::string_view step) {
    *error = std::string(step) + ": " +
             (try_catch.HasCaught() ? host_string(isolate_, try_catch.Exception())
                                    : std::string("failed"));
    return false;
  };
  v8::internal::ModuleState* shared = module_.in_isolate(home_, error);
  if (shared == nullptr) return false;
  *shared->instance = this;  // before the start function, which may call imports
  if (shared->spare_instance != nullptr && can_be_spare_) {
    auto spare = std::static_pointer_cast<SpareInstance>(std::move(shared->spare_instance));
    shared->spare_instance.reset();
    handles_ = std::move(spare->handles);
    initial_memory_ = std::move(spare->initial_memory);
    state_captured_ = took_spare_ = true;
    return true;
  }
  if (!links_.imports.empty()) {
    if (!link_imports(shared->imports.Get(isolate_), error)) return false;
    shared->imports_linked = true;
  } else if (shared->imports_linked) {  // the same module, linked otherwise before
    shared->imports.Reset(isolate_, module_.make_imports(isolate_, context, shared->targets.get()));
    shared->imports_linked = false;
  }
  ::v8::Local<::v8::Value> exports;
  // Instantiating again (a reset): nothing of the previous instance may be reached while the
  // start function runs.
  handles_.memory.Reset();
  for (auto& global : handles_.globals) global.Reset();
  std::array<::v8::Local<::v8::Value>, 2> argv{shared->module_object.Get(isolate_),
                                               shared->imports.Get(isolate_)};
  ::v8::Local<::v8::Object> instance;
  if (!home_.instance_constructor()
           ->NewInstance(context, static_cast<int>(argv.size()), argv.data())
           .ToLocal(&instance) ||
      !get(context, instance, "exports").ToLocal(&exports) || !exports->IsObject()) {
    return fail("instantiation failed");
  }
  handles_.exports.Reset(isolate_, exports.As<::v8::Object>());
  handles_.functions.clear();
  for (const ExportedFunction& f : module_.spec.functions) {
    handles_.functions.emplace_back(isolate_, exported(f.name).As<::v8::Function>());
  }
  auto memory = exported(kStateMemoryExport);
  handles_.memory.Reset(isolate_, !memory.IsEmpty() && memory->IsWasmMemoryObject()
                                      ? memory.As<::v8::WasmMemoryObject>()
                                      : ::v8::Local<::v8::WasmMemoryObject>());
  const std::array<std::string_view, kGlobalSlots> global_names{kFuelGlobalExport,
                                                                kGrowFailedGlobalExport};
  for (std::size_t slot = 0; slot < kGlobalSlots; ++slot) {
    auto global = exported(global_names[slot]);
    handles_.globals[slot].Reset(isolate_, !global.IsEmpty() && global->IsObject()
                                               ? global.As<::v8::Object>()
                                               : ::v8::Local<::v8::Object>());
  }
  return true;
}

// The import object is the module state's, shared with the module's later instances in this
// isolate: each linked instantiation sets every linked import again.
bool V8Instance::link_imports(::v8::Local<::v8::Object> imports, std::string* error) {
  auto context = this->context();
  for (std::uint32_t i = 0; i < links_.imports.size(); ++i) {
    const InstanceLinks::Import& link = links_.imports[i];
    if (link.exporter == nullptr) continue;
    const auto& exporter = *static_cast<const V8Instance*>(link.exporter);
    ::v8::Local<::v8::Value> function, namespace_object;
    if (exporter.handles_.exports.IsEmpty() ||
        !get(context, exporter.handles_.exports.Get(isolate_), link.export_name)
             .ToLocal(&function) ||
        !function->IsFunction() ||
        !get(context, imports, module_.spec.import_modules[i]).ToLocal(&namespace_object) ||
        !namespace_object->IsObject()) {
      *error = "linked instance does not export function '" + std::string(link.export_name) + "'";
      return false;
    }
    namespace_object.As<::v8::Object>()
        ->Set(context, v8_string(isolate_, module_.spec.import_names[i]), function)
        .Check();
  }
  return true;
}

bool V8Instance::invoke(std::uint32_t index, std::span<const std::uint64_t> args,
                        std::span<std::uint64_t> results, std::string* trap) {
  auto context = this->context();
  const FunctionType& type = module_.spec.functions[index].type;
  constexpr std::size_t kInline = 16;
  std::array<::v8::Local<::v8::Value>, kInline> inline_argv;
  std::vector<::v8::Local<::v8::Value>> heap_argv;
  std::span<::v8::Local<::v8::Value>> argv(inline_argv.data(), args.size());
  if (args.size() > kInline) {
    heap_argv.resize(args.size());
    argv = heap_argv;
  }
  for (std::size_t i = 0; i < args.size(); ++i) argv[i] = to_v8(isolate_, args[i], type.params[i]);
  ::v8::TryCatch try_catch(isolate_);
  ::v8::Local<::v8::Value> value;
  if (!handles_.functions[index]
           .Get(isolate_)
           ->Call(context, ::v8::Undefined(isolate_), static_cast<int>(argv.size()), argv.data())
           .ToLocal(&value)) {
    ::v8::Context::Scope context_scope(context);  // to convert the exception to text
    *trap = try_catch.HasCaught() && !try_catch.HasTerminated()
                ? host_string(isolate_, try_catch.Exception())
                : std::string("execution terminated");
    return false;
  }
  if (results.size() == 1) {
    results[0] = from_v8(context, value, type.results[0]);
  } else if (results.size() > 1 && value->IsArray()) {
    auto array = value.As<::v8::Array>();
    for (std::uint32_t i = 0; i < results.size(); ++i) {
      ::v8::Local<::v8::Value> element;
      results[i] =
          array->Get(context, i).ToLocal(&element) ? from_v8(context, element, type.results[i]) : 0;
    }
  }
  return true;
}

std::span<std::uint8_t> V8Instance::memory() {
  if (handles_.memory.IsEmpty()) return {};
  auto buffer = handles_.memory.Get(isolate_)->Buffer();
  return {static_cast<std::uint8_t*>(buffer->Data()), buffer->ByteLength()};
}

std::uint64_t V8Instance::global(GlobalSlot slot) {
  const auto& handle = handles_.globals[static_cast<std::size_t>(slot)];
  if (handle.IsEmpty()) return 0;
  ::v8::Local<::v8::Value> value;
  if (!get(context(), handle.Get(isolate_), "value").ToLocal(&value)) return 0;
  return from_v8(context(), value, slot == GlobalSlot::fuel ? ValueType::i64 : ValueType::i32);
}

void V8Instance::set_global(GlobalSlot slot, std::uint64_t bits) {
  const auto& handle = handles_.globals[static_cast<std::size_t>(slot)];
  if (handle.IsEmpty()) return;
  handle.Get(isolate_)
      ->Set(context(), v8_string(isolate_, "value"),
            to_v8(isolate_, bits, slot == GlobalSlot::fuel ? ValueType::i64 : ValueType::i32))
      .Check();
}

// Only for modules whose whole mutable state is memory 0 and globals (no table writes, no
// dropped segments: ExposedState::restorable_in_place); anything else is reset by
// instantiating again.
void V8Instance::snapshot() {
  if (std::exchange(took_spare_, false)) return;  // the spare's snapshot is this state's
  state_captured_ = false;
  const ExposedState& state = module_.spec.state;
  if (!state.restorable_in_place()) return;
  handles_.state_globals.clear();
  handles_.initial_globals.clear();
  for (const auto& name : state.globals) {
    ::v8::Local<::v8::Value> global = exported(name), value;
    if (global.IsEmpty() || !global->IsObject() ||
        !get(context(), global.As<::v8::Object>(), "value").ToLocal(&value)) {
      return;
    }
    handles_.state_globals.emplace_back(isolate_, global.As<::v8::Object>());
    handles_.initial_globals.emplace_back(isolate_, value);
  }
  auto bytes = memory();
  initial_memory_.capture(bytes.data(), bytes.size());
  state_captured_ = true;
}

// False when the state cannot be put back in place (not captured, or memory grew: a wasm
// memory never shrinks); the core then instantiates again.
bool V8Instance::restore() {
  if (!state_captured_) return false;
  auto bytes = memory();
  if (bytes.size() != initial_memory_.size()) return false;
  initial_memory_.restore(bytes.data());
  ::v8::TryCatch try_catch(isolate_);
  auto value_key = v8_string(isolate_, "value");
  for (std::size_t i = 0; i < handles_.state_globals.size(); ++i) {
    if (!handles_.state_globals[i]
             .Get(isolate_)
             ->Set(context(), value_key, handles_.initial_globals[i].Get(isolate_))
             .FromMaybe(false)) {
      return false;
    }
  }
  return true;
}

class V8Backend final : public Backend {
 public:
  std::string_view name() const override { return "v8"; }
  PrepareOptions prepare_options() const override { return {.expose_state = true}; }
  bool interrupts_at_deadline() const override { return true; }

  std::unique_ptr<BackendModule> compile(const PreparedModule& prepared,
                                         const BackendModuleSpec& spec,
                                         std::string* error) const override {
    v8::internal::ensure_v8();
    auto module = std::make_unique<V8Module>(spec);
    CompileIsolate compile_isolate;
    auto* isolate = compile_isolate.get();
    ::v8::Locker locker(isolate);
    ::v8::Isolate::Scope isolate_scope(isolate);
    ::v8::HandleScope handles(isolate);
    auto context = ::v8::Context::New(isolate);
    ::v8::Context::Scope context_scope(context);
    ::v8::TryCatch try_catch(isolate);
    const auto& binary = prepared.binary;
    auto compiled = ::v8::WasmModuleObject::Compile(
        isolate, ::v8::MemorySpan<const std::uint8_t>(binary.data(), binary.size()));
    if (compiled.IsEmpty()) {
      *error =
          spec.name + ": V8 rejected the module: " + host_string(isolate, try_catch.Exception());
      return nullptr;
    }
    module->compiled =
        std::make_shared<::v8::CompiledWasmModule>(compiled.ToLocalChecked()->GetCompiledModule());
    return module;
  }
};

}  // namespace
}  // namespace warmpool::wasm::internal

extern "C" const warmpool::wasm::internal::Backend* warmpool_wasm_v8_backend() {
  static const warmpool::wasm::internal::V8Backend backend;
  return &backend;
}
