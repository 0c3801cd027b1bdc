#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <utility>

#include "warmpool/wasm/wabt.hpp"
#include "wasm/common/bytes_abi.hpp"
#include "wasm/common/fuel.hpp"
#include "wasm/common/instantiation_error.hpp"
#include "wasm/common/text.hpp"
#include "wasm/common/wasi.hpp"
#include "wasm/common/watchdog.hpp"
#include "wasm/wabt/interp_engine.hpp"
#include "wasm/wabt/module_impl.hpp"

namespace warmpool::wasm::wabt {
namespace {

// Why the running call stopped early, recorded by the host function that
// stopped it (more reliable than parsing wabt's trap text).
enum class Stop { none, fuel, deadline, exit };

std::uint64_t to_bits(const Value& value) {
  return std::visit(
      [](auto v) -> std::uint64_t {
        using T = decltype(v);
        if constexpr (std::is_same_v<T, std::int32_t>) return static_cast<std::uint32_t>(v);
        if constexpr (std::is_same_v<T, std::int64_t>) return static_cast<std::uint64_t>(v);
        if constexpr (std::is_same_v<T, float>) return std::bit_cast<std::uint32_t>(v);
        if constexpr (std::is_same_v<T, double>) return std::bit_cast<std::uint64_t>(v);
      },
      value);
}

Value from_bits(std::uint64_t bits, ValueType type) {
  switch (type) {
    case ValueType::i32: return static_cast<std::int32_t>(static_cast<std::uint32_t>(bits));
    case ValueType::i64: return static_cast<std::int64_t>(bits);
    case ValueType::f32: return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    case ValueType::f64: return std::bit_cast<double>(bits);
  }
  return std::int32_t{0};
}

std::string_view type_name(ValueType type) {
  switch (type) {
    case ValueType::i32: return "i32";
    case ValueType::i64: return "i64";
    case ValueType::f32: return "f32";
    case ValueType::f64: return "f64";
  }
  return "?";
}

std::string signature(const FunctionType& type) {
  std::string out = "(";
  for (std::size_t i = 0; i < type.params.size(); ++i) {
    if (i != 0) out += ", ";
    out += type_name(type.params[i]);
  }
  out += ") -> (";
  for (std::size_t i = 0; i < type.results.size(); ++i) {
    if (i != 0) out += ", ";
    out += type_name(type.results[i]);
  }
  return out + ")";
}

}  // namespace

struct Instance::Impl {
  explicit Impl(std::shared_ptr<const Module> m) : module(std::move(m)) {}

  const Module::Impl& mod() const { return *module->impl_; }

  std::shared_ptr<const Module> module;
  internal::WasiContext wasi;
  internal::FuelBudget budget;
  internal::DeadlineTimer timer;
  Stop stop = Stop::none;
  std::int32_t exit_code = 0;
  bool healthy = true;
  // Last: its host functions point into this Impl, so it goes first.
  std::unique_ptr<internal::InterpInstance> engine;

  std::expected<void, WasmError> instantiate();
  std::vector<internal::InterpHostFunction> host_functions();

  std::span<std::uint8_t> guest_memory() {
    if (!engine) return {};  // a start function runs before `engine` is set
    return {engine->memory_data(), static_cast<std::size_t>(engine->memory_size())};
  }

  void begin_call();
  void end_call();
  // Runs the export at `position` inside an already begun call. On failure
  // the error names `what` and the instance is poisoned, except for
  // proc_exit(0), which yields no results.
  std::expected<std::vector<std::uint64_t>, WasmError> run(std::uint32_t position,
                                                           const std::vector<std::uint64_t>& args,
                                                           std::string_view what);
  WasmError failure(std::string_view what, const std::string& trap) const;
  bool exited_cleanly() const { return stop == Stop::exit && exit_code == 0; }
};

std::vector<internal::InterpHostFunction> Instance::Impl::host_functions() {
  std::vector<internal::InterpHostFunction> functions;
  for (const internal::WasiFunction* wasi_fn : mod().imports) {
    if (wasi_fn == nullptr) {
      functions.emplace_back([this](const std::uint64_t*, std::uint64_t* result) {
        auto slice = budget.refill(timer.expired());
        if (!slice) {
          stop = slice.error() == internal::StopReason::fuel ? Stop::fuel : Stop::deadline;
          return false;
        }
        *result = static_cast<std::uint64_t>(*slice);
        return true;
      });
      continue;
    }
    functions.emplace_back([this, wasi_fn](const std::uint64_t* args, std::uint64_t* result) {
      internal::WasiResult r =
          wasi_fn->handler(wasi, guest_memory(), std::span(args, wasi_fn->type.params.size()));
      if (!r) {
        stop = Stop::exit;
        exit_code = r.error().code;
        return false;
      }
      *result = static_cast<std::uint32_t>(*r);
      return true;
    });
  }
  return functions;
}

std::expected<void, WasmError> Instance::Impl::instantiate() {
  const Module::Impl& m = mod();
  wasi.program_name = m.name;
  std::string error;
  // A start function runs inside instantiation, under one call's limits.
  stop = Stop::none;
  budget.begin_empty(m.limits.fuel);
  if (m.limits.timeout.count() > 0) timer.arm(m.limits.timeout);
  engine = internal::InterpInstance::instantiate(*m.engine, host_functions(), &error);
  end_call();
  if (!engine && stop != Stop::none) {
    return std::unexpected(internal::failed_while_instantiating(failure("start function", error)));
  }
  if (!engine) {
    return std::unexpected(WasmError(ErrorKind::instantiate, internal::cat(m.name, ": ", error)));
  }
  if (auto init = m.find(internal::kInitializeExport)) {
    if (!init->function->type.params.empty() || !init->function->type.results.empty()) {
      return std::unexpected(WasmError(
          ErrorKind::abi, internal::cat(m.name, ": export '_initialize' must have type () -> ()")));
    }
    begin_call();
    auto result = run(init->position, {}, internal::kInitializeExport);
    end_call();
    if (!result) return std::unexpected(internal::failed_while_instantiating(result.error()));
  }
  engine->snapshot();
  return {};
}

void Instance::Impl::begin_call() {
  const Module::Impl& m = mod();
  wasi.stdout_text.clear();
  wasi.stderr_text.clear();
  stop = Stop::none;
  exit_code = 0;
  if (m.fuel_global) {
    engine->set_global(*m.fuel_global, static_cast<std::uint64_t>(budget.begin(m.limits.fuel)));
  }
  if (m.grow_global) engine->set_global(*m.grow_global, 0);
  if (m.limits.timeout.count() > 0) timer.arm(m.limits.timeout);
}

void Instance::Impl::end_call() {
  if (mod().limits.timeout.count() > 0) timer.disarm();
}

std::expected<std::vector<std::uint64_t>, WasmError> Instance::Impl::run(
    std::uint32_t position, const std::vector<std::uint64_t>& args, std::string_view what) {
  std::vector<std::uint64_t> results;
  std::string trap;
  if (engine->call(position, args, &results, &trap)) return results;
  if (exited_cleanly()) return std::vector<std::uint64_t>{};
  healthy = false;
  return std::unexpected(failure(what, trap));
}

WasmError Instance::Impl::failure(std::string_view what, const std::string& trap) const {
  const Module::Impl& m = mod();
  switch (stop) {
    case Stop::fuel:
      return {ErrorKind::fuel_exhausted,
              internal::cat(m.name, ": ", what, ": fuel exhausted (limit ", m.limits.fuel, ")")};
    case Stop::deadline:
      return {ErrorKind::deadline, internal::cat(m.name, ": ", what, ": deadline of ",
                                                 m.limits.timeout.count(), " ms exceeded")};
    case Stop::exit:
      return {ErrorKind::trap, internal::cat(m.name, ": ", what, ": exited with code ", exit_code)};
    case Stop::none: break;
  }
  if (m.grow_global && engine && engine->global(*m.grow_global) != 0) {
    return {ErrorKind::memory_limit,
            internal::cat(m.name, ": ", what, ": memory limit of ", m.limits.max_memory_pages,
                          " pages reached (then: ", trap, ")")};
  }
  return {ErrorKind::trap, internal::cat(m.name, ": ", what, ": ", trap)};
}

Instance::Instance(std::unique_ptr<Impl> impl) noexcept : impl_(impl.release()) {}
void Instance::ImplDeleter::operator()(Impl* impl) const noexcept {
  delete impl;
}

std::expected<Instance, WasmError> Instance::instantiate(std::shared_ptr<const Module> module) {
  if (module == nullptr) {
    return std::unexpected(WasmError(ErrorKind::instantiate, "instantiate: no module"));
  }
  auto impl = std::make_unique<Impl>(std::move(module));
  if (auto done = impl->instantiate(); !done) return std::unexpected(done.error());
  return Instance(std::move(impl));
}

std::expected<std::vector<Value>, WasmError> Instance::call(std::string_view export_name,
                                                            std::span<const Value> args) {
  Impl& self = *impl_;
  const Module::Impl& m = self.mod();
  auto found = m.find(export_name);
  if (!found) return std::unexpected(m.export_not_found(export_name));
  const FunctionType& type = found->function->type;
  bool matches = args.size() == type.params.size();
  for (std::size_t i = 0; matches && i < args.size(); ++i) {
    matches = args[i].index() == static_cast<std::size_t>(type.params[i]);
  }
  if (!matches) {
    return std::unexpected(WasmError(
        ErrorKind::abi, internal::cat(m.name, ": ", export_name, ": expects ", signature(type),
                                      ", got ", args.size(), " argument(s)",
                                      args.size() == type.params.size() ? " of other types" : "")));
  }
  std::vector<std::uint64_t> raw;
  raw.reserve(args.size());
  for (const Value& v : args) raw.push_back(to_bits(v));

  self.begin_call();
  auto results = self.run(found->position, raw, export_name);
  self.end_call();
  if (!results) return std::unexpected(results.error());
  std::vector<Value> out;
  if (results->size() == type.results.size()) {  // empty after proc_exit(0)
    for (std::size_t i = 0; i < results->size(); ++i) {
      out.push_back(from_bits((*results)[i], type.results[i]));
    }
  }
  return out;
}

std::expected<BytesOutput, WasmError> Instance::call_bytes(std::string_view export_name,
                                                           std::span<const std::uint8_t> input) {
  Impl& self = *impl_;
  const Module::Impl& m = self.mod();
  auto abi_error = [&](std::string_view what) {
    return std::unexpected(
        WasmError(ErrorKind::abi, internal::cat(m.name, ": ", export_name, ": ", what)));
  };
  auto found = m.find(export_name);
  if (!found) return std::unexpected(m.export_not_found(export_name));
  if (auto bad = internal::check_bytes_export(found->function, export_name, m.name)) {
    return std::unexpected(*bad);
  }
  auto alloc = m.find(internal::kAllocExport);
  if (!alloc || !internal::has_type(*alloc->function, {ValueType::i32}, {ValueType::i32})) {
    return abi_error("bytes calls need the export wp_alloc: (i32) -> i32");
  }
  if (!m.has_memory_export) return abi_error("bytes calls need the memory exported as 'memory'");
  if (input.size() > INT32_MAX) return abi_error("input larger than 2 GiB");
  auto free_fn = m.find(internal::kFreeExport);
  if (free_fn && !internal::has_type(*free_fn->function, {ValueType::i32}, {})) free_fn.reset();

  const auto len = static_cast<std::uint32_t>(input.size());
  // Allocation, the export and the frees form one call: one budget, one deadline.
  self.begin_call();
  struct EndCall {
    Impl& self;
    ~EndCall() { self.end_call(); }
  } end_call{self};
  auto captured = [&self](std::string output) {
    return BytesOutput{std::move(output), self.wasi.stdout_text, self.wasi.stderr_text};
  };

  std::uint32_t in_ptr = 0;  // an empty input is passed as (0, 0) without allocating
  if (len != 0) {
    auto allocated = self.run(alloc->position, {len}, internal::kAllocExport);
    if (!allocated) return std::unexpected(allocated.error());
    if (self.exited_cleanly()) return captured({});
    in_ptr = static_cast<std::uint32_t>((*allocated)[0]);
    if (in_ptr == 0) {
      return abi_error(internal::cat("wp_alloc(", len, ") returned 0 (out of memory)"));
    }
    if (!internal::in_bounds(self.engine->memory_size(), in_ptr, len)) {
      return abi_error(internal::cat("wp_alloc(", len, ") returned ", in_ptr,
                                     ", outside memory of ", self.engine->memory_size(), " bytes"));
    }
    std::memcpy(self.engine->memory_data() + in_ptr, input.data(), len);
  }

  auto packed = self.run(found->position, {in_ptr, len}, export_name);
  if (!packed) return std::unexpected(packed.error());
  if (self.exited_cleanly()) return captured({});
  const auto out = internal::unpack_output(static_cast<std::int64_t>((*packed)[0]));
  const std::uint64_t memory_size = self.engine->memory_size();
  if (!internal::in_bounds(memory_size, out.ptr, out.len)) {
    return abi_error(internal::cat("returned output [", out.ptr, ", ",
                                   out.ptr + std::uint64_t{out.len}, ") outside memory of ",
                                   memory_size, " bytes"));
  }
  std::string output;
  if (out.len != 0) {
    output.assign(reinterpret_cast<const char*>(self.engine->memory_data()) + out.ptr, out.len);
  }

  if (free_fn) {
    for (std::uint32_t ptr : {in_ptr, out.ptr != in_ptr ? out.ptr : 0u}) {
      if (ptr == 0) continue;
      auto freed = self.run(free_fn->position, {ptr}, internal::kFreeExport);
      if (!freed) return std::unexpected(freed.error());
      if (self.exited_cleanly()) break;
    }
  }
  return captured(std::move(output));
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
bool Instance::reset() {
  return impl_->healthy && impl_->engine->restore();
}
const Module& Instance::module() const {
  return *impl_->module;
}

}  // namespace warmpool::wasm::wabt
