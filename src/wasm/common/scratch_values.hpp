// Scratch space for the raw values of one call crossing between the host and
// a guest: inline for the handful of values nearly every signature has, on the
// heap beyond that. C++17: the wabt interpreter's glue includes it too.
//
//   ScratchValues<std::uint64_t> args(type.params.size());
//   for (std::size_t i = 0; i < args.size(); ++i) args[i] = ...;
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

namespace warmpool::wasm::internal {

template <class T, std::size_t kInline = 16>
class ScratchValues {
 public:
  // The first `size` values are value-initialised; the rest of the inline
  // array is left alone: zeroing all of it (a `rep stos`) was ~10% of a V8
  // host call.
  explicit ScratchValues(std::size_t size) : size_(size) {
    if (size > kInline) {
      heap_.resize(size);
    } else {
      std::fill_n(inline_.data(), size, T{});
    }
  }
  ScratchValues(const ScratchValues&) = delete;
  ScratchValues& operator=(const ScratchValues&) = delete;

  T* data() { return size_ > kInline ? heap_.data() : inline_.data(); }
  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return data()[i]; }

 private:
  std::array<T, kInline> inline_;
  std::vector<T> heap_;
  std::size_t size_;
};

}  // namespace warmpool::wasm::internal
