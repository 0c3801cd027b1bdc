// The reset snapshot of a linear memory: what it restores, and that pages the
// kernel never backed are skipped without being read.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>

#include "wasm/common/memory_snapshot.hpp"

namespace warmpool::wasm::internal {
namespace {

constexpr std::size_t kChunk = MemorySnapshot::kChunk;

// A private anonymous mapping, like a V8 linear memory.
class AnonymousMemory {
 public:
  explicit AnonymousMemory(std::size_t size) : size_(size) {
    void* at = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    data_ = at == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(at);
  }
  ~AnonymousMemory() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;
  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::uint8_t* chunk(std::size_t c) const { return data_ + c * kChunk; }

 private:
  std::size_t size_;
  std::uint8_t* data_;
};

TEST(MemorySnapshot, PagesNeverWrittenAreKnownUntouched) {
  AnonymousMemory memory(64 * kChunk);
  ASSERT_NE(memory.data(), nullptr);
  memory.chunk(3)[10] = 1;
  volatile std::uint8_t read_only = memory.chunk(5)[0];  // maps the zero page: present
  (void)read_only;
  const std::vector<bool> untouched =
      MemorySnapshot::untouched_chunks(memory.data(), memory.size());
  if (untouched.empty()) GTEST_SKIP() << "/proc/self/pagemap is not readable here";
  ASSERT_EQ(untouched.size(), 64u);
  EXPECT_FALSE(untouched[3]);
  EXPECT_FALSE(untouched[5]);
  EXPECT_TRUE(untouched[0]);
  EXPECT_TRUE(untouched[63]);
}

TEST(MemorySnapshot, RestoresEveryChangeWrittenOrDropped) {
  AnonymousMemory memory(64 * kChunk);
  ASSERT_NE(memory.data(), nullptr);
  std::memset(memory.chunk(1), 0xab, kChunk);
  memory.chunk(7)[100] = 42;
  MemorySnapshot snapshot;
  snapshot.capture(memory.data(), memory.size());
  ASSERT_EQ(snapshot.size(), memory.size());

  memory.chunk(1)[0] = 0;                             // a saved chunk changed
  memory.chunk(20)[5] = 9;                            // an untouched chunk written
  ::madvise(memory.chunk(7), kChunk, MADV_DONTNEED);  // a saved chunk dropped: reads zero
  memory.chunk(63)[kChunk - 1] = 1;                   // the last byte
  snapshot.restore(memory.data());

  for (std::size_t i = 0; i < kChunk; ++i) ASSERT_EQ(memory.chunk(1)[i], 0xab) << i;
  EXPECT_EQ(memory.chunk(20)[5], 0);
  EXPECT_EQ(memory.chunk(7)[100], 42);
  EXPECT_EQ(memory.chunk(63)[kChunk - 1], 0);
  for (std::size_t c : {0u, 2u, 20u, 40u, 63u}) {
    for (std::size_t i = 0; i < kChunk; ++i) ASSERT_EQ(memory.chunk(c)[i], 0) << c << ' ' << i;
  }
}

TEST(MemorySnapshot, SmallAndUnalignedMemoriesAreScannedWhole) {
  std::vector<std::uint8_t> heap(3 * kChunk + 17, 0);
  heap[kChunk + 3] = 5;
  MemorySnapshot snapshot;
  snapshot.capture(heap.data(), heap.size());
  heap[kChunk + 3] = 6;
  heap[3 * kChunk + 16] = 1;
  snapshot.restore(heap.data());
  EXPECT_EQ(heap[kChunk + 3], 5);
  EXPECT_EQ(heap[3 * kChunk + 16], 0);
}

}  // namespace
}  // namespace warmpool::wasm::internal
