// The Extism kernel's state: a host-side arena of blocks, the call's input,
// output and error, and the instance's vars.
#include "warmpool/extism/kernel.hpp"

#include <algorithm>
#include <cstring>

namespace warmpool::extism {
namespace {

// Data starts past offset 0 so that no live block is ever the null handle.
constexpr std::uint64_t kFirstOffset = 8;
// Kernel memory kept between calls; a call that needed more gives it back.
constexpr std::size_t kRetainedBytes = 1024 * 1024;
constexpr std::uint64_t kInitialBytes = 64 * 1024;

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

Kernel::Kernel(std::shared_ptr<const KernelSettings> settings)
    : settings_(std::move(settings)), top_(kFirstOffset) {}

Handle Kernel::allocate(std::uint64_t n) {
  if (n == 0) return 0;
  if (freed_blocks_ > 0) {
    for (Block& block : blocks_) {
      if (!block.live && block.size >= n) {
        block.live = true;
        block.used = n;
        --freed_blocks_;
        return block.offset;
      }
    }
  }
  const std::uint64_t cap = std::max<std::uint64_t>(settings_->max_memory_bytes, kFirstOffset);
  if (n > cap - top_) return 0;
  const std::uint64_t end = top_ + n;
  // PDKs copy whole 8-byte words in and out of a block, also past its end
  // (the Haskell PDK reads and writes strings this way): keep a word of slack.
  const std::uint64_t needed = end + 8;
  if (needed > memory_.size()) {
    const std::uint64_t grown = std::max({needed, 2 * memory_.size(), kInitialBytes});
    memory_.resize(static_cast<std::size_t>(std::min(cap + 8, grown)));
  }
  blocks_.push_back({top_, n, n, true});
  top_ = end;
  return blocks_.back().offset;
}

Handle Kernel::allocate_bytes(std::span<const std::uint8_t> bytes) {
  Handle handle = allocate(bytes.size());
  if (handle != 0) std::memcpy(memory_.data() + handle, bytes.data(), bytes.size());
  return handle;
}

Handle Kernel::allocate_bytes(std::string_view text) {
  return allocate_bytes(as_bytes(text));
}

const Kernel::Block* Kernel::find_block(Handle handle) const {
  auto it = std::lower_bound(blocks_.begin(), blocks_.end(), handle,
                             [](const Block& b, Handle h) { return b.offset < h; });
  if (it == blocks_.end() || it->offset != handle || !it->live) return nullptr;
  return &*it;
}

Kernel::Block* Kernel::find_block(Handle handle) {
  return const_cast<Block*>(std::as_const(*this).find_block(handle));
}

void Kernel::free(Handle handle) {
  Block* block = find_block(handle);
  if (block == nullptr) return;
  block->live = false;
  ++freed_blocks_;
  if (handle == input_handle_) {
    input_handle_ = 0;
    input_ = {};
  }
}

std::uint64_t Kernel::length(Handle handle) const {
  const Block* block = find_block(handle);
  return block == nullptr ? 0 : block->used;
}

std::span<const std::uint8_t> Kernel::bytes(Handle handle) const {
  const Block* block = find_block(handle);
  if (block == nullptr) return {};
  return {memory_.data() + block->offset, static_cast<std::size_t>(block->used)};
}

std::string_view Kernel::text(Handle handle) const {
  auto b = bytes(handle);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::uint8_t Kernel::load_u8(std::uint64_t address) const {
  return address < memory_.size() ? memory_[address] : 0;
}

std::uint64_t Kernel::load_u64(std::uint64_t address) const {
  if (memory_.size() < 8 || address > memory_.size() - 8) return 0;
  std::uint64_t value;
  std::memcpy(&value, memory_.data() + address, 8);
  return value;
}

void Kernel::store_u8(std::uint64_t address, std::uint8_t value) {
  if (address < memory_.size()) memory_[address] = value;
}

void Kernel::store_u64(std::uint64_t address, std::uint64_t value) {
  if (memory_.size() < 8 || address > memory_.size() - 8) return;
  std::memcpy(memory_.data() + address, &value, 8);
}

void Kernel::begin_call(std::span<const std::uint8_t> input, void* user_context) {
  blocks_.clear();
  freed_blocks_ = 0;
  top_ = kFirstOffset;
  if (memory_.size() > kRetainedBytes) {
    memory_.resize(kRetainedBytes);
    memory_.shrink_to_fit();
  }
  input_ = input;
  input_handle_ = 0;
  output_ = 0;
  output_length_ = 0;
  error_ = 0;
  user_context_ = user_context;
  http_status_ = 0;
  http_headers_json_.clear();
  if (settings_->timeout) deadline_ = std::chrono::steady_clock::now() + *settings_->timeout;
}

std::uint8_t Kernel::input_load_u8(std::uint64_t offset) const {
  return offset < input_.size() ? input_[offset] : 0;
}

std::uint64_t Kernel::input_load_u64(std::uint64_t offset) const {
  if (input_.size() < 8 || offset > input_.size() - 8) return 0;
  std::uint64_t value;
  std::memcpy(&value, input_.data() + offset, 8);
  return value;
}

Handle Kernel::input_handle() {
  if (input_handle_ == 0) input_handle_ = allocate_bytes(input_);
  return input_handle_;
}

void Kernel::set_output(Handle handle, std::uint64_t length) {
  output_ = handle;
  output_length_ = length;
}

std::expected<std::span<const std::uint8_t>, std::string> Kernel::output() const {
  if (output_length_ == 0) return std::span<const std::uint8_t>{};
  if (output_ > memory_.size() || output_length_ > memory_.size() - output_) {
    return std::unexpected("output_set(" + std::to_string(output_) + ", " +
                           std::to_string(output_length_) + ") is outside kernel memory (" +
                           std::to_string(memory_.size()) + " bytes)");
  }
  return std::span<const std::uint8_t>(memory_.data() + output_,
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
