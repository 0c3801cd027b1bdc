// warmpool/internal/false_sharing.hpp — implementation detail: how far apart
// data written by different threads must be.
//
// 128 bytes, not one 64-byte line: the adjacent-line prefetcher fetches
// lines in 128-byte pairs, so a thread writing one line also pulls in its
// pair, and the thread that owns the other line loses it. Measured on the
// Fresh hit (docs/PERFORMANCE.md): with refill on another CPU, each pair
// shared with a line refill writes cost the requester a cross-core miss.
#pragma once

#include <cstddef>

namespace warmpool::internal {

inline constexpr std::size_t kNoFalseSharing = 128;

// Slots are spaced wider still. A refill thread writes the slot it fills,
// and the prefetchers that follow its accesses reach past the pair into the
// next slots, one of which is often a requester's home: with slots 128
// bytes apart, 10% of Fresh hits with refill on another CPU paid a
// cross-core miss on the home slot (p90 200-230 ns against Reuse's 80-90);
// 256 bytes apart, p90 matched Reuse. 512 measured no better.
inline constexpr std::size_t kSlotSpacing = 256;

}  // namespace warmpool::internal
