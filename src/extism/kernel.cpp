// The Extism kernel's state: kernel memory (the kernel module's, kernel_module.hpp), the
// call's output and error, and the instance's vars.
#include "warmpool/extism/kernel.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "kernel_module.hpp"
#include "warmpool/wasm/instance.hpp"

namespace warmpool::extism {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}

std::optional<LogLevel> log_level_named(std::string_view name) noexcept {
  if (name == "trace") return LogLevel::trace;
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn" || name == "warning") return LogLevel::warn;
  if (name == "error") return LogLevel::error;
  return std::nullopt;
}

struct Kernel::OwnInstance {
  std::optional<wasm::Instance> instance;
};

Kernel::Kernel(std::shared_ptr<const KernelSettings> settings, wasm::Engine engine)
    : settings_(std::move(settings)),
      engine_(engine),
      own_instance_(std::make_shared<OwnInstance>()) {}

void Kernel::attach(wasm::Instance& kernel_instance) {
  if (instance_ == &kernel_instance) return;
  instance_ = &kernel_instance;
  alloc_.reset();
}

wasm::Instance& Kernel::instance() const {
  if (instance_ != nullptr) return *instance_;
  if (!own_instance_->instance) {
    auto made = wasm::Instance::instantiate(internal::kernel_module(engine_));
    if (!made) throw std::runtime_error("the Extism kernel module: " + made.error().message());
    own_instance_->instance.emplace(std::move(*made));
  }
  instance_ = &*own_instance_->instance;
  return *instance_;
}

std::span<std::uint8_t> Kernel::memory() const {
  return instance().memory().data();
}

Handle Kernel::allocate(std::uint64_t n) {
  if (n == 0) return 0;
  if (Handle at_top = internal::KernelLayout(memory()).allocate_at_top(n)) return at_top;
  // The kernel's own alloc reuses freed blocks and grows kernel memory.
  wasm::Instance& kernel = instance();
  if (!alloc_) alloc_.emplace(kernel.module().function("alloc").value());
  const std::array<std::uint64_t, 1> args{n};
  std::array<std::uint64_t, 1> result{};
  if (!kernel.call_raw(*alloc_, args, result)) return 0;
  return result[0];
}

Handle Kernel::allocate_bytes(std::span<const std::uint8_t> bytes) {
  Handle handle = allocate(bytes.size());
  if (handle != 0) std::memcpy(memory().data() + handle, bytes.data(), bytes.size());
  return handle;
}

Handle Kernel::allocate_bytes(std::string_view text) {
  return allocate_bytes(as_bytes(text));
}

void Kernel::free(Handle handle) {
  internal::KernelLayout(memory()).free(handle);
}

std::uint64_t Kernel::length(Handle handle) const {
  return internal::KernelLayout(memory()).length(handle);
}

std::span<const std::uint8_t> Kernel::bytes(Handle handle) const {
  auto kernel_memory = memory();
  const std::uint64_t n = internal::KernelLayout(kernel_memory).length(handle);
  if (n == 0) return {};
  return kernel_memory.subspan(static_cast<std::size_t>(handle), static_cast<std::size_t>(n));
}

std::string_view Kernel::text(Handle handle) const {
  auto b = bytes(handle);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::uint8_t Kernel::load_u8(std::uint64_t address) const {
  auto kernel_memory = memory();
  return address < internal::KernelLayout(kernel_memory).bound() ? kernel_memory[address] : 0;
}

std::uint64_t Kernel::load_u64(std::uint64_t address) const {
  auto kernel_memory = memory();
  if (address > internal::KernelLayout(kernel_memory).bound() - 8) return 0;
  std::uint64_t value;
  std::memcpy(&value, kernel_memory.data() + address, 8);
  return value;
}

void Kernel::store_u8(std::uint64_t address, std::uint8_t value) {
  auto kernel_memory = memory();
  if (address < internal::KernelLayout(kernel_memory).bound()) kernel_memory[address] = value;
}

void Kernel::store_u64(std::uint64_t address, std::uint64_t value) {
  auto kernel_memory = memory();
  if (address > internal::KernelLayout(kernel_memory).bound() - 8) return;
  std::memcpy(kernel_memory.data() + address, &value, 8);
}

void Kernel::begin_call(std::span<const std::uint8_t> input, void* user_context) {
  internal::KernelLayout(memory()).begin(settings_->max_memory_bytes);
  if (!input.empty()) {
    if (Handle block = allocate_bytes(input)) {
      internal::KernelLayout(memory()).set_input(block, input.size());
    }
  }
  output_ = 0;
  output_length_ = 0;
  error_ = 0;
  user_context_ = user_context;
  http_status_ = 0;
  http_headers_json_.clear();
  if (settings_->timeout) deadline_ = std::chrono::steady_clock::now() + *settings_->timeout;
}

std::uint64_t Kernel::input_length() const {
  return internal::KernelLayout(memory()).input_length();
}

std::uint8_t Kernel::input_load_u8(std::uint64_t offset) const {
  auto kernel_memory = memory();
  const internal::KernelLayout layout(kernel_memory);
  return offset < layout.input_length() ? kernel_memory[layout.input_handle() + offset] : 0;
}

std::uint64_t Kernel::input_load_u64(std::uint64_t offset) const {
  auto kernel_memory = memory();
  const internal::KernelLayout layout(kernel_memory);
  const std::uint64_t n = layout.input_length();
  if (n < 8 || offset > n - 8) return 0;
  std::uint64_t value;
  std::memcpy(&value, kernel_memory.data() + layout.input_handle() + offset, 8);
  return value;
}

Handle Kernel::input_handle() {
  const internal::KernelLayout layout(memory());
  return layout.input_length() == 0 ? 0 : layout.input_handle();
}

void Kernel::set_output(Handle handle, std::uint64_t length) {
  output_ = handle;
  output_length_ = length;
}

std::expected<std::span<const std::uint8_t>, std::string> Kernel::output() const {
  if (output_length_ == 0) return std::span<const std::uint8_t>{};
  auto kernel_memory = memory();
  if (output_ > kernel_memory.size() || output_length_ > kernel_memory.size() - output_) {
    return std::unexpected("output_set(" + std::to_string(output_) + ", " +
                           std::to_string(output_length_) + ") is outside kernel memory (" +
                           std::to_string(kernel_memory.size()) + " bytes)");
  }
  return std::span<const std::uint8_t>(kernel_memory.data() + output_,
                                       static_cast<std::size_t>(output_length_));
}

void Kernel::set_error(Handle handle) {
  error_ = handle;
}

std::optional<std::string_view> Kernel::config(std::string_view key) const {
  auto it = settings_->config.find(key);
  if (it == settings_->config.end()) return std::nullopt;
  return it->second;
}

std::optional<std::span<const std::uint8_t>> Kernel::var(std::string_view key) const {
  auto it = vars_.find(key);
  if (it == vars_.end()) return std::nullopt;
  return std::span<const std::uint8_t>(it->second);
}

std::expected<void, std::string> Kernel::set_var(std::string_view key,
                                                 std::span<const std::uint8_t> value) {
  const std::uint64_t limit = settings_->max_var_bytes;
  if (limit == 0) return std::unexpected("Vars are disabled by this host");
  auto existing = vars_.find(key);
  std::uint64_t remaining = var_bytes_;
  if (existing != vars_.end()) remaining -= existing->second.size();
  if (value.empty()) {
    if (existing != vars_.end()) vars_.erase(existing);
    var_bytes_ = remaining;
    return {};
  }
  // Values count, keys do not, as in the Rust runtime's var store.
  const std::uint64_t wanted = value.size();
  if (wanted > limit || remaining > limit - wanted) {
    return std::unexpected("Variable store is full (" + std::to_string(remaining + wanted) +
                           " bytes requested, max_var_bytes is " + std::to_string(limit) + ")");
  }
  std::vector<std::uint8_t> stored(value.begin(), value.end());
  if (existing != vars_.end()) {
    existing->second = std::move(stored);
  } else {
    vars_.emplace(std::string(key), std::move(stored));
  }
  var_bytes_ = remaining + wanted;
  return {};
}

void Kernel::clear_vars() {
  vars_.clear();
  var_bytes_ = 0;
}

void Kernel::log(LogLevel level, std::string_view message) const {
  const auto& threshold = settings_->log_level;
  if (!threshold || level < *threshold || !settings_->log_sink) return;
  settings_->log_sink(level, message);
}

std::int32_t Kernel::log_level_value() const noexcept {
  const auto& threshold = settings_->log_level;
  return threshold ? static_cast<std::int32_t>(*threshold) : 0x7fffffff;
}

}  // namespace warmpool::extism
