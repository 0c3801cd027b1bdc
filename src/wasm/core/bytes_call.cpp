// Instance::call_bytes: the plugin bytes ABI (docs/plugin-abi.md), once for every engine.
#include <cstring>
#include <limits>
#include <utility>

#include "warmpool/wasm/instance.hpp"
#include "wasm/common/bytes_abi.hpp"
#include "wasm/common/text.hpp"
#include "wasm/core/instance_core.hpp"

namespace warmpool::wasm {

using internal::cat;

std::expected<BytesOutput, WasmError> Instance::call_bytes(std::string_view export_name,
                                                           std::span<const std::uint8_t> input) {
  internal::InstanceCore& self = core();
  const Module::Impl& m = self.module();
  auto abi_error = [&](std::string what) {
    return std::unexpected(WasmError(ErrorKind::abi, cat(m.name, ": ", export_name, ": ", what)));
  };
  auto position = m.find(export_name);
  if (!position) return std::unexpected(m.export_not_found(export_name));
  if (auto bad = internal::check_bytes_export(&m.exports[*position], export_name, m.name)) {
    return std::unexpected(std::move(*bad));
  }
  auto alloc = m.find(internal::kAllocExport);
  if (!alloc || !internal::has_type(m.exports[*alloc], {ValueType::i32}, {ValueType::i32})) {
    return abi_error(
        cat("bytes calls need the export ", internal::kAllocExport, ": (i32) -> (i32)"));
  }
  // wp_free is optional; one of another type is ignored. (A plain index, not an optional:
  // GCC 12 misreads an optional's lifetime here under -fsanitize=thread.)
  const auto free_export = m.find(internal::kFreeExport);
  const bool frees =
      free_export.has_value() && internal::has_type(m.exports[*free_export], {ValueType::i32}, {});
  const std::uint32_t free_fn = frees ? *free_export : 0;
  if (input.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return abi_error("input larger than 2 GiB");
  }
  if (auto refused = self.refuse_if_unusable(export_name)) return std::unexpected(*refused);

  internal::Entered entered(*self.backend);
  if (self.backend->memory().empty()) {
    return abi_error(
        cat("bytes calls need a memory (exported as '", internal::kMemoryExport, "')"));
  }
  // Allocation, the export and the frees form one call: one budget, one deadline.
  internal::InstanceCore::CallScope call(self);
  auto captured = [&self](std::string output) {
    return BytesOutput{std::move(output), self.wasi.stdout_text, self.wasi.stderr_text};
  };
  const auto len = static_cast<std::uint32_t>(input.size());
  std::uint32_t in_ptr = 0;  // an empty input is passed as (0, 0) without allocating
  if (len != 0) {
    std::uint64_t args[] = {len}, result[1] = {};
    if (auto done = self.run(*alloc, args, result); !done) return std::unexpected(done.error());
    if (self.exited_cleanly()) return captured({});
    in_ptr = static_cast<std::uint32_t>(result[0]);
    if (in_ptr == 0) {
      return abi_error(cat(internal::kAllocExport, "(", len, ") returned 0 (out of memory)"));
    }
    const MemoryView memory(self.backend->memory());
    if (!memory.write(in_ptr, input)) {
      return abi_error(cat(internal::kAllocExport, "(", len, ") returned ", in_ptr,
                           ", outside memory of ", memory.size(), " bytes"));
    }
  }

  std::uint64_t args[] = {in_ptr, len}, packed[1] = {};
  if (auto done = self.run(*position, args, packed); !done) return std::unexpected(done.error());
  if (self.exited_cleanly()) return captured({});
  const auto out = internal::unpack_output(static_cast<std::int64_t>(packed[0]));
  const MemoryView memory(self.backend->memory());
  auto bytes = memory.read(out.ptr, out.len);
  if (!bytes) {
    return abi_error(cat("returned output [", out.ptr, ", ", out.ptr + std::uint64_t{out.len},
                         ") outside memory of ", memory.size(), " bytes"));
  }
  std::string output(reinterpret_cast<const char*>(bytes->data()), bytes->size());

  if (frees) {
    for (std::uint32_t ptr : {in_ptr, out.ptr != in_ptr ? out.ptr : 0u}) {
      if (ptr == 0) continue;
      std::uint64_t free_args[] = {ptr};
      if (auto done = self.run(free_fn, free_args, {}); !done) {
        return std::unexpected(done.error());
      }
      if (self.exited_cleanly()) break;
    }
  }
  return captured(std::move(output));
}

}  // namespace warmpool::wasm
