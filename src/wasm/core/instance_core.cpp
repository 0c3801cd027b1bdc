#include "wasm/core/instance_core.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#include "wasm/common/bytes_abi.hpp"
#include "wasm/common/instantiation_error.hpp"
#include "wasm/common/text.hpp"

namespace warmpool::wasm::internal {

InstanceCore::InstanceCore(LinkedModule linked)
    : linked_(std::move(linked)), timer_([this] { backend->interrupt(); }) {
  wasi.program_name = module().name;
}

InstanceCore::~InstanceCore() {
  if (bound_thread_.load(std::memory_order_relaxed) != std::thread::id{}) {
    misuse("instance destroyed while bound to a thread (end its ThreadBinding first)");
  }
}

std::expected<void, WasmError> InstanceCore::bind_to_this_thread() {
  const auto here = std::this_thread::get_id();
  auto bound = std::thread::id{};
  if (!bound_thread_.compare_exchange_strong(bound, here, std::memory_order_acquire,
                                             std::memory_order_relaxed) &&
      bound != here) {
    return std::unexpected(
        WasmError(ErrorKind::abi, cat(module().name,
                                      ": cannot bind the instance to this thread: it is "
                                      "bound to another thread")));
  }
  if (bindings_++ == 0) {
    backend->bind_thread();
    // After the importer: V8's outermost lock is the importer's, released last.
    for (Instance& linked : linked_instances_) {
      if (auto bound = linked.core().bind_to_this_thread(); !bound) {
        misuse("a linked instance is bound to another thread than its importer");
      }
    }
  }
  return {};
}

void InstanceCore::unbind_from_this_thread() {
  if (bound_thread_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    misuse(
        "a thread binding ended on another thread than the one it binds to (a bound pool "
        "checkout must be released on the thread that took it)");
  }
  if (--bindings_ > 0) return;
  for (Instance& linked : linked_instances_) linked.core().unbind_from_this_thread();
  backend->unbind_thread();
  bound_thread_.store(std::thread::id{}, std::memory_order_release);
}

bool InstanceCore::bound_elsewhere() const noexcept {
  const auto bound = bound_thread_.load(std::memory_order_relaxed);
  return bound != std::thread::id{} && bound != std::this_thread::get_id();
}

void InstanceCore::require_not_bound_elsewhere(std::string_view what) const {
  if (bound_elsewhere()) [[unlikely]] {
    misuse(cat(what, " from another thread than the one the instance is bound to"));
  }
}

void InstanceCore::misuse(std::string_view what) const {
  std::fprintf(stderr, "warmpool: %s: %.*s\n", module().name.c_str(), static_cast<int>(what.size()),
               what.data());
  std::abort();
}

InstanceCore::CallScope::CallScope(InstanceCore& core) : core_(core) {
  const Module::Impl& m = core.module();
  core.wasi.stdout_text.clear();
  core.wasi.stderr_text.clear();
  core.stop_ = Stop::none;
  core.exit_code_ = 0;
  const bool inside_importer = core.runs_inside_importer();
  ++core.open_calls_;
  if (inside_importer) {
    // Its first metering check asks the importer's budget (refill_fuel).
    if (m.metered) core.backend->set_global(GlobalSlot::fuel, 0);
    if (m.grow_tracked) core.backend->set_global(GlobalSlot::grow_failed, 0);
    return;
  }
  if (m.metered) {
    core.backend->set_global(GlobalSlot::fuel,
                             static_cast<std::uint64_t>(core.budget_.begin(m.limits.fuel)));
  }
  if (m.grow_tracked) core.backend->set_global(GlobalSlot::grow_failed, 0);
  if (m.limits.timeout.count() > 0) core.timer_.arm(m.limits.timeout);
}

InstanceCore::CallScope::~CallScope() {
  --core_.open_calls_;
  core_.settle();
}

void InstanceCore::settle() {
  timer_.disarm();
  // A deadline that fired after the guest returned leaves an interrupt behind.
  if (timer_.expired() || stop_ != Stop::none) backend->clear_interrupt();
}

std::expected<void, WasmError> InstanceCore::create_host_data() {
  const auto& factory = linked_.impl().host_data;
  if (!factory) return {};
  try {
    data_ = factory();
  } catch (const std::exception& e) {
    return std::unexpected(WasmError(
        ErrorKind::instantiate, cat(module().name, ": the host data factory threw: ", e.what())));
  }
  return {};
}

std::expected<void, WasmError> InstanceCore::restore_host_data() {
  if (initial_data_ == nullptr) return create_host_data();
  try {
    data_.object = data_.copy(initial_data_.get());
  } catch (const std::exception& e) {
    return std::unexpected(WasmError(
        ErrorKind::instantiate, cat(module().name, ": copying the host data threw: ", e.what())));
  }
  return {};
}

std::expected<void, WasmError> InstanceCore::instantiate() {
  if (auto made = create_host_data(); !made) return made;
  if (auto linked = instantiate_linked(); !linked) return linked;
  backend = module().engine->create_instance(*this, links_);
  Entered entered(*backend);
  return build();
}

// The first linked instance makes the store (isolate) the others and the importer join.
std::expected<void, WasmError> InstanceCore::instantiate_linked() {
  const LinkedModule::Impl& linked = linked_.impl();
  if (linked.linked_instances.empty()) return {};
  for (const LinkedModule::Impl::LinkedInstance& spec : linked.linked_instances) {
    auto core = std::make_unique<InstanceCore>(spec.linked);
    core->importer_ = this;
    core->links_.home = links_.home;
    if (auto built = core->instantiate(); !built) return std::unexpected(std::move(built.error()));
    if (links_.home == nullptr) links_.home = core->backend.get();
    linked_instances_.push_back(
        Instance(std::unique_ptr<InstanceHead, Instance::Deleter>(core.release())));
  }
  links_.imports.resize(linked.imports.size());
  for (std::size_t i = 0; i < linked.imports.size(); ++i) {
    const LinkedModule::Impl::Import& import = linked.imports[i];
    if (!import.linked_instance) continue;
    links_.imports[i] = {linked_instances_[*import.linked_instance].core().backend.get(),
                         import.name};
  }
  return {};
}

Instance* InstanceCore::linked_instance(std::string_view module) noexcept {
  const auto& specs = linked_.impl().linked_instances;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].import_module == module) return &linked_instances_[i];
  }
  return nullptr;
}

std::expected<void, WasmError> InstanceCore::build() {
  const Module::Impl& m = module();
  // A start function runs inside instantiation, under one call's limits, with
  // no fuel in the guest yet: its first check asks the host for a slice.
  stop_ = Stop::none;
  exit_code_ = 0;
  budget_.begin_empty(m.limits.fuel);
  if (m.limits.timeout.count() > 0) timer_.arm(m.limits.timeout);
  std::string error;
  ++open_calls_;
  const bool built = backend->instantiate(&error);
  --open_calls_;
  settle();
  if (!built) {
    if (stop_ == Stop::none && !timer_.expired()) {
      return std::unexpected(WasmError(ErrorKind::instantiate, cat(m.name, ": ", error)));
    }
    if (auto failure = classify("start function", error)) {
      return std::unexpected(failed_while_instantiating(*failure));
    }
    return std::unexpected(
        WasmError(ErrorKind::instantiate, cat(m.name, ": start function: exited with code 0")));
  }
  if (auto init = m.find(kInitializeExport)) {
    const FunctionType& type = m.exports[*init].type;
    if (!type.params.empty() || !type.results.empty()) {
      return std::unexpected(WasmError(ErrorKind::abi, cat(m.name, ": export '", kInitializeExport,
                                                           "' must have type () -> ()")));
    }
    CallScope call(*this);
    if (auto done = run(*init, {}, {}); !done) {
      return std::unexpected(failed_while_instantiating(done.error()));
    }
    if (exited_cleanly()) {
      return std::unexpected(WasmError(
          ErrorKind::instantiate, cat(m.name, ": ", kInitializeExport, ": exited with code 0")));
    }
  }
  backend->snapshot();
  return snapshot_host_data();
}

std::expected<void, WasmError> InstanceCore::snapshot_host_data() {
  initial_data_.reset();
  if (data_.copy == nullptr) return {};
  try {
    initial_data_ = data_.copy(data_.object.get());
  } catch (const std::exception& e) {
    return std::unexpected(WasmError(
        ErrorKind::instantiate, cat(module().name, ": copying the host data threw: ", e.what())));
  }
  return {};
}

InstanceCore::Reset InstanceCore::reset() {
  require_not_bound_elsewhere("reset()");
  if (!healthy) return Reset::failed;
  // Linked instances first: an importer whose exporters were instantiated again must be
  // too, as its imports name the functions of the instances they replaced.
  bool linked_in_place = true;
  for (Instance& linked : linked_instances_) {
    const Reset done = linked.core().reset();
    if (done == Reset::failed) {
      healthy = false;
      return Reset::failed;
    }
    linked_in_place = linked_in_place && done == Reset::in_place;
  }
  Entered entered(*backend);
  if (linked_in_place && backend->restore()) {
    if (restore_host_data()) return Reset::in_place;
    healthy = false;
    return Reset::failed;
  }
  if (!backend->reinstantiates()) {
    if (!linked_in_place) healthy = false;
    return Reset::failed;
  }
  // The start function and `_initialize` run again, recording into new host data.
  if (!create_host_data() || !build()) {
    healthy = false;
    return Reset::failed;
  }
  return Reset::instantiated_again;
}

bool InstanceCore::call_import(std::uint32_t index, std::span<const std::uint64_t> args,
                               std::span<std::uint64_t> results) {
  const LinkedModule::Impl::Import& import = linked_.impl().imports[index];
  // The engine calls imports bound to a linked instance itself: only the metering hook has
  // no function here.
  if (!import.function) return refill_fuel(results);
  current_import_ = &import;
  Caller caller(*this);
  try {
    import.function->callback()(caller, args, results);
  } catch (const std::exception& e) {
    stop_by_host(cat("threw: ", e.what()));
  } catch (...) {
    stop_by_host("threw an exception that is not a std::exception");
  }
  current_import_ = nullptr;
  return stop_ == Stop::none;
}

bool InstanceCore::refill_fuel(std::span<std::uint64_t> results) {
  if (runs_inside_importer()) return importer_->refill_fuel(results);
  auto slice = budget_.refill(timer_.expired());
  if (!slice) {
    stop_ = slice.error() == StopReason::fuel ? Stop::fuel : Stop::deadline;
    return false;
  }
  results[0] = static_cast<std::uint64_t>(*slice);
  return true;
}

void InstanceCore::stop_by_host(std::string message) {
  if (stop_ != Stop::none) return;  // the first reason wins
  stop_ = Stop::host;
  stop_message_ = current_import_ != nullptr
                      ? cat("host function '", current_import_->qualified_name, "' ", message)
                      : std::move(message);
}

void InstanceCore::exit(std::int32_t code) {
  if (stop_ != Stop::none) return;
  stop_ = Stop::exit;
  exit_code_ = code;
}

std::expected<void, WasmError> InstanceCore::run(std::uint32_t index,
                                                 std::span<const std::uint64_t> args,
                                                 std::span<std::uint64_t> results) {
  std::string trap;
  if (backend->invoke(index, args, results, &trap)) return {};
  settle();
  healthy = false;
  auto failure = classify(module().exports[index].name, trap);
  if (!failure) {
    std::ranges::fill(results, 0);
    return {};
  }
  return std::unexpected(std::move(*failure));
}

std::optional<WasmError> InstanceCore::classify(std::string_view what, const std::string& trap) {
  const Module::Impl& m = module();
  switch (stop_) {
    case Stop::fuel:
      return WasmError(ErrorKind::fuel_exhausted,
                       cat(m.name, ": ", what, ": fuel exhausted (limit ", m.limits.fuel, ")"));
    case Stop::exit:
      if (exit_code_ == 0) return std::nullopt;
      return WasmError(ErrorKind::trap, cat(m.name, ": ", what, ": exited with code ", exit_code_));
    case Stop::host:
      // A host function whose call into a linked instance was stopped by the deadline.
      if (timer_.expired()) break;
      return WasmError(ErrorKind::trap, cat(m.name, ": ", what, ": ", stop_message_));
    case Stop::deadline:
    case Stop::none: break;
  }
  if (stop_ == Stop::deadline || timer_.expired()) {
    return WasmError(ErrorKind::deadline, cat(m.name, ": ", what, ": deadline of ",
                                              m.limits.timeout.count(), " ms exceeded"));
  }
  if (m.grow_tracked && backend->global(GlobalSlot::grow_failed) != 0) {
    return WasmError(ErrorKind::memory_limit, cat(m.name, ": ", what, ": memory limit of ",
                                                  m.limits.max_memory_pages, " pages reached"));
  }
  return WasmError(ErrorKind::trap, cat(m.name, ": ", what, ": ", trap));
}

std::optional<WasmError> InstanceCore::refuse_if_unusable(std::string_view what) const {
  // Before `healthy`: the bound thread may be writing it.
  if (bound_elsewhere()) [[unlikely]] {
    return WasmError(ErrorKind::abi,
                     cat(module().name, ": ", what,
                         ": instance is bound to another thread (Instance::bind_to_this_thread); "
                         "call it there, or end the binding first"));
  }
  if (healthy) return std::nullopt;
  return WasmError(ErrorKind::trap, cat(module().name, ": ", what,
                                        ": instance was stopped earlier; create a new one"));
}

std::optional<WasmError> InstanceCore::check_callable(const Function& function) const {
  const Module::Impl& m = module();
  if (function.module_ != &m) {
    const auto* other = static_cast<const Module::Impl*>(function.module_);
    return WasmError(ErrorKind::abi,
                     cat(m.name, ": ", function.name(), ": the handle is of module '", other->name,
                         "', not of this instance's"));
  }
  return refuse_if_unusable(function.name());
}

}  // namespace warmpool::wasm::internal

namespace warmpool::wasm {

MemoryView Caller::memory() const {
  return MemoryView(core_.backend->memory());
}

Instance* Caller::linked_instance(std::string_view module) const noexcept {
  return core_.linked_instance(module);
}

void* Caller::data_of(const void* type) const noexcept {
  return core_.host_data_of(type);
}

void Caller::stop(std::string message) {
  core_.stop_by_host(internal::cat("stopped the call: ", message));
}

}  // namespace warmpool::wasm
