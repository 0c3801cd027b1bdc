#include "wasm/common/memory_snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace warmpool::wasm::internal {
namespace {

alignas(64) constexpr std::uint8_t kZeroChunk[MemorySnapshot::kChunk] = {};

// Below this a scan is cheaper than asking the kernel which pages exist.
constexpr std::size_t kUntouchedLookupMin = 64 * 1024;

// /proc/self/pagemap, opened once; -1 where it cannot be read (then every
// page counts as touched and the scans read everything, as before).
int pagemap_fd() {
  static const int fd = [] {
    if (::sysconf(_SC_PAGESIZE) != static_cast<long>(MemorySnapshot::kChunk)) return -1;
    return ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  }();
  return fd;
}

}  // namespace

// A page of a private anonymous mapping that is neither present nor swapped
// out has never been written (or was dropped by the guest's allocator): it
// reads as zero, and reading it would only fault in the zero page. Both
// engines' linear memories are such mappings. Pagemap entry: bit 63 present,
// bit 62 swapped.
std::vector<bool> MemorySnapshot::untouched_chunks(const std::uint8_t* data, std::size_t size) {
  std::vector<bool> untouched;
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  const int fd = pagemap_fd();
  if (size < kUntouchedLookupMin || fd < 0 || address % kChunk != 0) return untouched;
  const std::size_t pages = (size + kChunk - 1) / kChunk;
  std::vector<std::uint64_t> entries(pages);
  const auto bytes = static_cast<ssize_t>(pages * sizeof(std::uint64_t));
  const auto offset = static_cast<off_t>(address / kChunk * sizeof(std::uint64_t));
  if (::pread(fd, entries.data(), static_cast<std::size_t>(bytes), offset) != bytes) {
    return untouched;
  }
  constexpr std::uint64_t kPresentOrSwapped = (std::uint64_t{1} << 63) | (std::uint64_t{1} << 62);
  untouched.resize(pages);
  for (std::size_t page = 0; page < pages; ++page) {
    untouched[page] = (entries[page] & kPresentOrSwapped) == 0;
  }
  return untouched;
}

void MemorySnapshot::capture(const std::uint8_t* data, std::size_t size) {
  size_ = size;
  chunks_.clear();
  saved_.clear();
  chunks_.reserve((size + kChunk - 1) / kChunk);
  const std::vector<bool> untouched = untouched_chunks(data, size);
  for (std::size_t at = 0, c = 0; at < size; at += kChunk, ++c) {
    const std::size_t n = std::min(kChunk, size - at);
    if ((c < untouched.size() && untouched[c]) || std::memcmp(data + at, kZeroChunk, n) == 0) {
      chunks_.push_back(kZero);
    } else {
      chunks_.push_back(saved_.size());
      saved_.insert(saved_.end(), data + at, data + at + n);
    }
  }
}

void MemorySnapshot::restore(std::uint8_t* data) const {
  const std::vector<bool> untouched = untouched_chunks(data, size_);
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    if (c < untouched.size() && untouched[c] && chunks_[c] == kZero) continue;  // zero already
    std::uint8_t* live = data + c * kChunk;
    const std::size_t n = std::min(kChunk, size_ - c * kChunk);
    const std::uint8_t* saved = chunks_[c] == kZero ? kZeroChunk : saved_.data() + chunks_[c];
    if (std::memcmp(live, saved, n) != 0) std::memcpy(live, saved, n);
  }
}

}  // namespace warmpool::wasm::internal
