// Built as C++17: see interp_engine.hpp.
#include "wasm/wabt/interp_engine.hpp"

#include <wabt/binary-reader.h>
#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

#include <cstring>
#include <new>
#include <optional>
#include <utility>

#include "wasm/common/memory_snapshot.hpp"
#include "wasm/common/scratch_values.hpp"

namespace warmpool::wasm::internal {
namespace {

namespace interp = ::wabt::interp;

InterpKind to_kind(::wabt::ExternalKind kind) {
  switch (kind) {
    case ::wabt::ExternalKind::Func: return InterpKind::func;
    case ::wabt::ExternalKind::Table: return InterpKind::table;
    case ::wabt::ExternalKind::Memory: return InterpKind::memory;
    case ::wabt::ExternalKind::Global: return InterpKind::global;
    case ::wabt::ExternalKind::Tag: return InterpKind::tag;
  }
  return InterpKind::tag;
}

InterpType to_type(::wabt::Type type) {
  switch (type) {
    case ::wabt::Type::I32: return InterpType::i32;
    case ::wabt::Type::I64: return InterpType::i64;
    case ::wabt::Type::F32: return InterpType::f32;
    case ::wabt::Type::F64: return InterpType::f64;
    default: return InterpType::other;
  }
}

std::uint64_t to_bits(const interp::Value& value, ::wabt::Type type) {
  switch (type) {
    case ::wabt::Type::I32: return value.Get<interp::u32>();
    case ::wabt::Type::I64: return value.Get<interp::u64>();
    case ::wabt::Type::F32: {
      const float f = value.Get<interp::f32>();
      std::uint32_t bits;
      std::memcpy(&bits, &f, sizeof bits);
      return bits;
    }
    case ::wabt::Type::F64: {
      const double d = value.Get<interp::f64>();
      std::uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return bits;
    }
    default: return 0;
  }
}

interp::Value from_bits(std::uint64_t bits, ::wabt::Type type) {
  switch (type) {
    case ::wabt::Type::I32: return interp::Value::Make(static_cast<interp::u32>(bits));
    case ::wabt::Type::I64: return interp::Value::Make(static_cast<interp::u64>(bits));
    case ::wabt::Type::F32: {
      const auto narrow = static_cast<std::uint32_t>(bits);
      float f;
      std::memcpy(&f, &narrow, sizeof f);
      return interp::Value::Make(f);
    }
    case ::wabt::Type::F64: {
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return interp::Value::Make(d);
    }
    default: return interp::Value::Make(interp::u64{0});
  }
}

}  // namespace

struct InterpModule::Impl {
  interp::ModuleDesc desc;
  std::vector<InterpImport> imports;
  std::vector<InterpExport> exports;
};

InterpModule::InterpModule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InterpModule::~InterpModule() = default;
const std::vector<InterpImport>& InterpModule::imports() const {
  return impl_->imports;
}
const std::vector<InterpExport>& InterpModule::exports() const {
  return impl_->exports;
}

std::unique_ptr<InterpModule> InterpModule::decode(const std::vector<std::uint8_t>& binary,
                                                   const std::string& name, std::string* error) {
  auto impl = std::make_unique<Impl>();
  const ::wabt::Features features;
  ::wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                    /*stop_on_first_error=*/true,
                                    /*fail_on_custom_section_error=*/false);
  ::wabt::Errors errors;
  if (::wabt::Failed(interp::ReadBinaryInterp(name, binary.data(), binary.size(), options, &errors,
                                              &impl->desc))) {
    *error =
        name + ": " + (errors.empty() ? std::string("invalid module") : errors.front().message);
    return nullptr;
  }
  for (const interp::ImportDesc& import : impl->desc.imports) {
    InterpImport info{
        import.type.module, import.type.name, to_kind(import.type.type->kind), {}, {}};
    if (const auto* f = ::wabt::dyn_cast<interp::FuncType>(import.type.type.get())) {
      for (::wabt::Type t : f->params) info.params.push_back(to_type(t));
      for (::wabt::Type t : f->results) info.results.push_back(to_type(t));
    }
    impl->imports.push_back(std::move(info));
  }
  for (const interp::ExportDesc& e : impl->desc.exports) {
    impl->exports.push_back({e.type.name, to_kind(e.type.type->kind)});
  }
  return std::unique_ptr<InterpModule>(new InterpModule(std::move(impl)));
}

struct InterpInstance::Impl {
  explicit Impl(std::shared_ptr<interp::Store> shared, const InterpModule& m)
      : shared_store(std::move(shared)), store(*shared_store), module(m) {}

  // Shared by the instances linked to each other (InterpLinkedImport); each keeps it alive.
  std::shared_ptr<interp::Store> shared_store;
  interp::Store& store;
  const InterpModule& module;
  // Every RefPtr below roots an object in `store`, so they are declared (and
  // therefore destroyed) after it.
  std::optional<interp::Thread> thread;
  interp::Instance::Ptr instance;
  interp::Memory::Ptr memory;
  std::vector<interp::HostFunc::Ptr> host_functions;

  // The post-instantiation state of everything a guest can change: memory 0,
  // mutable globals, tables, and which data/element segments are dropped.
  struct Snapshot {
    MemorySnapshot memory;
    std::vector<std::pair<interp::Global::Ptr, interp::Value>> globals;
    std::vector<std::pair<interp::Table::Ptr, interp::RefVec>> tables;
    std::vector<interp::DataSegment> datas;
    std::vector<interp::ElemSegment> elems;
  } snapshot;

  template <class T>
  interp::RefPtr<T> exported(std::uint32_t index) const {
    auto& store_ref = const_cast<interp::Store&>(store);
    return store_ref.UnsafeGet<T>(instance->exports().at(index));
  }
};

namespace {

std::optional<interp::Ref> exported_function(const InterpInstance::Impl& exporter,
                                             const std::string& name) {
  const std::vector<InterpExport>& exports = exporter.module.exports();
  for (std::size_t i = 0; i < exports.size(); ++i) {
    if (exports[i].kind == InterpKind::func && exports[i].name == name) {
      return exporter.instance->exports().at(i);
    }
  }
  return std::nullopt;
}

}  // namespace

InterpInstance::InterpInstance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InterpInstance::~InterpInstance() = default;

std::unique_ptr<InterpInstance> InterpInstance::instantiate(
    const InterpModule& module, std::vector<InterpHostFunction> imports, std::string* error,
    InterpInstance* home, const std::vector<InterpLinkedImport>& linked) {
  const interp::ModuleDesc& desc = module.impl_->desc;
  if (imports.size() != desc.imports.size() ||
      (!linked.empty() && linked.size() != desc.imports.size())) {
    *error = "wrong number of imports";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>(
      home != nullptr ? home->impl_->shared_store : std::make_shared<interp::Store>(), module);
  interp::Store& store = impl->store;
  interp::RefVec refs;
  for (std::size_t i = 0; i < imports.size(); ++i) {
    const auto* type = ::wabt::dyn_cast<interp::FuncType>(desc.imports[i].type.type.get());
    if (type == nullptr) {
      *error = "only function imports are supported";
      return nullptr;
    }
    if (!linked.empty() && linked[i].exporter != nullptr) {
      if (auto ref = exported_function(linked[i].exporter->impl(), linked[i].export_name)) {
        refs.push_back(*ref);
        continue;
      }
      *error = "linked instance does not export function '" + linked[i].export_name + "'";
      return nullptr;
    }
    auto callback = [host = std::move(imports[i]), params = type->params, results = type->results](
                        interp::Thread& thread, const interp::Values& args, interp::Values& out,
                        interp::Trap::Ptr* out_trap) -> ::wabt::Result {
      ScratchValues<std::uint64_t> raw_args(params.size()), raw_results(results.size());
      for (std::size_t a = 0; a < args.size() && a < params.size(); ++a) {
        raw_args[a] = to_bits(args[a], params[a]);
      }
      if (!host(raw_args.data(), raw_results.data())) {
        *out_trap = interp::Trap::New(thread.store(), "stopped by the host");
        return ::wabt::Result::Error;
      }
      for (std::size_t r = 0; r < out.size() && r < results.size(); ++r) {
        out[r] = from_bits(raw_results[r], results[r]);
      }
      return ::wabt::Result::Ok;
    };
    impl->host_functions.push_back(interp::HostFunc::New(store, *type, std::move(callback)));
    refs.push_back(impl->host_functions.back().ref());
  }
  interp::Module::Ptr wabt_module = interp::Module::New(store, desc);
  impl->thread.emplace(store);
  interp::Trap::Ptr trap;
  try {
    impl->instance = interp::Instance::Instantiate(store, wabt_module.ref(), refs, &trap);
  } catch (const std::bad_alloc&) {  // memories and tables are allocated whole
    *error = "the interpreter ran out of memory (std::bad_alloc)";
    return nullptr;
  }
  if (!impl->instance) {
    *error = trap ? trap->message() : std::string("instantiation failed");
    return nullptr;
  }
  if (!impl->instance->memories().empty()) {
    impl->memory = store.UnsafeGet<interp::Memory>(impl->instance->memories().front());
  }
  return std::unique_ptr<InterpInstance>(new InterpInstance(std::move(impl)));
}

bool InterpInstance::call(std::uint32_t export_index, const std::uint64_t* args,
                          std::size_t arg_count, std::uint64_t* results, std::string* trap) {
  Impl& self = *impl_;
  auto func = self.exported<interp::Func>(export_index);
  const interp::FuncType& type = func->type();
  if (arg_count != type.params.size()) {
    *trap = "wrong number of arguments";
    return false;
  }
  interp::Values params;
  params.reserve(arg_count);
  for (std::size_t i = 0; i < arg_count; ++i) params.push_back(from_bits(args[i], type.params[i]));
  interp::Values out;
  interp::Trap::Ptr wabt_trap;
  // Last line of defence: the interpreter allocates as it runs (a call's
  // locals, its stacks), and what the prepare pass bounds may still not fit.
  // Running out of memory ends this call like a trap, never the host.
  ::wabt::Result result = ::wabt::Result::Error;
  std::string out_of_memory;
  try {
    result = func->Call(*self.thread, params, out, &wabt_trap);
  } catch (const std::bad_alloc&) {
    out_of_memory = "the interpreter ran out of memory (std::bad_alloc)";
  }
  if (::wabt::Failed(result)) {
    *trap = !out_of_memory.empty() ? out_of_memory
            : wabt_trap            ? wabt_trap->message()
                                   : std::string("trapped");
    // A failed call leaves frames on wabt's thread; the next call needs a clean
    // one. Collect() frees the trap objects a reused instance would pile up; not
    // in a store shared with linked instances, whose threads may be mid-call.
    wabt_trap.reset();
    self.thread.reset();
    self.thread.emplace(self.store);
    if (self.shared_store.use_count() == 1) self.store.Collect();
    return false;
  }
  for (std::size_t i = 0; i < out.size() && i < type.results.size(); ++i) {
    results[i] = to_bits(out[i], type.results[i]);
  }
  return true;
}

std::uint8_t* InterpInstance::memory_data() {
  return impl_->memory ? impl_->memory->UnsafeData() : nullptr;
}

std::uint64_t InterpInstance::memory_size() const {
  return impl_->memory ? impl_->memory->ByteSize() : 0;
}

std::uint64_t InterpInstance::global(std::uint32_t export_index) const {
  auto g = impl_->exported<interp::Global>(export_index);
  return to_bits(g->Get(), g->type().type);
}

void InterpInstance::set_global(std::uint32_t export_index, std::uint64_t bits) {
  auto g = impl_->exported<interp::Global>(export_index);
  g->UnsafeSet(from_bits(bits, g->type().type));
}

void InterpInstance::snapshot() {
  Impl& self = *impl_;
  Impl::Snapshot& snap = self.snapshot;
  snap = {};
  if (self.memory) snap.memory.capture(self.memory->UnsafeData(), self.memory->ByteSize());
  for (interp::Ref ref : self.instance->globals()) {
    auto global = self.store.UnsafeGet<interp::Global>(ref);
    if (global->type().mut == interp::Mutability::Var) {
      snap.globals.emplace_back(global, global->Get());
    }
  }
  for (interp::Ref ref : self.instance->tables()) {
    auto table = self.store.UnsafeGet<interp::Table>(ref);
    snap.tables.emplace_back(table, table->elements());
  }
  snap.datas = self.instance->datas();
  snap.elems = self.instance->elems();
}

// Memory is restored chunk by chunk (MemorySnapshot): that is what makes a
// reset several times cheaper than instantiating, which must map, zero and
// fill a new memory.
bool InterpInstance::restore() {
  Impl& self = *impl_;
  const Impl::Snapshot& snap = self.snapshot;
  if (self.memory && self.memory->ByteSize() != snap.memory.size()) return false;
  for (const auto& [table, elements] : snap.tables) {
    if (table->size() != elements.size()) return false;
  }
  if (self.memory) snap.memory.restore(self.memory->UnsafeData());
  for (const auto& [global, value] : snap.globals) global->UnsafeSet(value);
  for (const auto& [table, elements] : snap.tables) {
    const interp::RefVec& live = table->elements();
    for (std::uint32_t i = 0; i < elements.size(); ++i) {
      if (live[i] != elements[i] && ::wabt::Failed(table->Set(self.store, i, elements[i]))) {
        return false;
      }
    }
  }
  // A segment changes only by being dropped (data.drop / elem.drop), which
  // empties it: undo that.
  std::vector<interp::DataSegment>& datas = self.instance->datas();
  for (std::size_t i = 0; i < datas.size(); ++i) {
    if (datas[i].size() != snap.datas[i].size()) datas[i] = snap.datas[i];
  }
  std::vector<interp::ElemSegment>& elems = self.instance->elems();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    if (elems[i].size() != snap.elems[i].size()) elems[i] = snap.elems[i];
  }
  return true;
}

}  // namespace warmpool::wasm::internal
