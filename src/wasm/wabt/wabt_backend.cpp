// The wabt interpreter behind the embedding API's backend interface. The
// interpreter itself is reached only through interp_engine.hpp (C++17).
#include <array>
#include <optional>
#include <unordered_map>
#include <utility>

#include "wasm/common/bytes_abi.hpp"
#include "wasm/core/backend.hpp"
#include "wasm/wabt/interp_engine.hpp"

namespace warmpool::wasm::internal {
namespace {

class WabtModule;

class WabtInstance final : public BackendInstance {
 public:
  WabtInstance(const WabtModule& module, ImportHandler& imports, const InstanceLinks& links)
      : module_(module), imports_(imports), links_(links) {}

  bool instantiate(std::string* error) override;
  bool invoke(std::uint32_t index, std::span<const std::uint64_t> args,
              std::span<std::uint64_t> results, std::string* trap) override;
  std::span<std::uint8_t> memory() override {
    // A start function calling the host runs before `engine_` is set.
    if (!engine_) return {};
    return {engine_->memory_data(), static_cast<std::size_t>(engine_->memory_size())};
  }
  std::uint64_t global(GlobalSlot slot) override;
  void set_global(GlobalSlot slot, std::uint64_t bits) override;
  void snapshot() override { engine_->snapshot(); }
  bool restore() override { return engine_->restore(); }

 private:
  // The engine instance of a linked instance (InstanceLinks), made before this one.
  static InterpInstance* engine_of(BackendInstance* instance) {
    return instance == nullptr ? nullptr : static_cast<WabtInstance*>(instance)->engine_.get();
  }

  const WabtModule& module_;
  ImportHandler& imports_;
  const InstanceLinks& links_;
  std::unique_ptr<InterpInstance> engine_;
};

class WabtModule final : public BackendModule {
 public:
  std::unique_ptr<BackendInstance> create_instance(ImportHandler& imports,
                                                   const InstanceLinks& links) const override {
    return std::make_unique<WabtInstance>(*this, imports, links);
  }

  std::unique_ptr<InterpModule> engine;
  std::vector<std::uint32_t> function_positions;  // per BackendModuleSpec::functions
  std::array<std::optional<std::uint32_t>, kGlobalSlots> global_positions;

  std::optional<std::uint32_t>& position_of(GlobalSlot slot) {
    return global_positions[static_cast<std::size_t>(slot)];
  }
  const std::optional<std::uint32_t>& position_of(GlobalSlot slot) const {
    return global_positions[static_cast<std::size_t>(slot)];
  }
};

bool WabtInstance::instantiate(std::string* error) {
  std::vector<InterpHostFunction> functions;
  const std::size_t count = module_.engine->imports().size();
  functions.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const InterpImport& import = module_.engine->imports()[i];
    functions.emplace_back(
        [this, i, params = import.params.size(), results = import.results.size()](
            const std::uint64_t* args, std::uint64_t* out) {
          return imports_.call_import(i, {args, params}, {out, results});
        });
  }
  std::vector<InterpLinkedImport> linked;
  for (const InstanceLinks::Import& import : links_.imports) {
    linked.push_back({engine_of(import.exporter), std::string(import.export_name)});
  }
  engine_.reset();  // a reset that instantiates again starts from nothing
  engine_ = InterpInstance::instantiate(*module_.engine, std::move(functions), error,
                                        engine_of(links_.home), linked);
  return engine_ != nullptr;
}

bool WabtInstance::invoke(std::uint32_t index, std::span<const std::uint64_t> args,
                          std::span<std::uint64_t> results, std::string* trap) {
  return engine_->call(module_.function_positions[index], args.data(), args.size(), results.data(),
                       trap);
}

std::uint64_t WabtInstance::global(GlobalSlot slot) {
  const auto& position = module_.position_of(slot);
  return position && engine_ ? engine_->global(*position) : 0;
}

void WabtInstance::set_global(GlobalSlot slot, std::uint64_t bits) {
  const auto& position = module_.position_of(slot);
  if (position) engine_->set_global(*position, bits);
}

class WabtBackend final : public Backend {
 public:
  std::string_view name() const override { return "wabt"; }

  std::unique_ptr<BackendModule> compile(const PreparedModule& prepared,
                                         const BackendModuleSpec& spec,
                                         std::string* error) const override {
    auto module = std::make_unique<WabtModule>();
    module->engine = InterpModule::decode(prepared.binary, spec.name, error);
    if (module->engine == nullptr) return nullptr;
    std::unordered_map<std::string_view, std::uint32_t> functions;
    const auto& exports = module->engine->exports();
    for (std::uint32_t position = 0; position < exports.size(); ++position) {
      const InterpExport& e = exports[position];
      if (e.kind == InterpKind::func) functions.emplace(e.name, position);
      if (e.kind != InterpKind::global) continue;
      if (e.name == kFuelGlobalExport) module->position_of(GlobalSlot::fuel) = position;
      if (e.name == kGrowFailedGlobalExport)
        module->position_of(GlobalSlot::grow_failed) = position;
    }
    for (const ExportedFunction& f : spec.functions) {
      module->function_positions.push_back(functions.at(f.name));
    }
    return module;
  }
};

}  // namespace

const Backend& wabt_backend() {
  static const WabtBackend backend;
  return backend;
}

}  // namespace warmpool::wasm::internal
