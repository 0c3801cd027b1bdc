// warmpool/internal/thread_cache.hpp — implementation detail of InstancePool:
// what each thread remembers about the pools it uses.
//
// A small direct-mapped table (indexed by pool id) gives a thread, without any
// shared memory access, its own metric shard, its owner tag and its "home"
// slot: the slot it last used, which it owns (slot.hpp), so the same thread
// keeps re-acquiring the same instance with plain loads and stores and its
// cache line stays in that core's cache (HikariCP's thread-local list). The
// hot table is constant-initialised so reading it is a plain TLS load (no TLS
// wrapper call); a
// separate, non-trivial object keeps the pools' shared state alive for as long
// as the table points into it and gives entries back when the thread exits.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "warmpool/internal/metric_shard.hpp"
#include "warmpool/internal/slot.hpp"

namespace warmpool::internal {

inline constexpr std::size_t kThreadCacheSize = 8;

// 32 bytes, so finding a pool's entry is a shift. The pool id and the
// "lent" bit share one word: each hit path tests its entry with one compare.
struct ThreadEntry {
  std::uint64_t key = 0;  // pool id << 1 | lent; 0: unused (pool ids start at 1)
  MetricShard* shard = nullptr;
  SlotBase* slot = nullptr;  // home slot
  std::uint64_t tag = 0;     // this thread's owner tag; 0: a stand-in used after
                             // thread-local teardown (owns nothing)

  static constexpr std::uint64_t key_of(std::uint64_t pool_id, bool lent) noexcept {
    return pool_id << 1 | std::uint64_t{lent};
  }
  std::uint64_t pool_id() const noexcept { return key >> 1; }
  // `slot` is Lent to this thread (it holds no instance).
  bool lent() const noexcept { return (key & 1) != 0; }
  void set_lent(bool l) noexcept { key = key_of(pool_id(), l); }
  bool registered() const noexcept { return tag != 0; }
};
static_assert(sizeof(ThreadEntry) == 32);

// A key no entry ever holds (pool ids start at 1, so every used key is >= 2):
// what a pool's hit-path key is when that path does not serve it.
inline constexpr std::uint64_t kNoEntryKey = 1;

inline std::atomic<std::uint64_t> next_pool_id{1};
inline std::atomic<std::uint64_t> next_thread_ordinal{0};

enum class ThreadCacheState : std::uint8_t { unset, alive, gone };

constinit inline thread_local std::array<ThreadEntry, kThreadCacheSize> thread_entries{};
constinit inline thread_local ThreadCacheState thread_cache_state = ThreadCacheState::unset;
constinit inline thread_local std::uint64_t thread_ordinal = 0;
// The owner tag of every entry this thread registers (thread_ordinal + 1),
// already shifted into place: make_state(tag, s) == thread_owner_bits | s.
// The hit paths build their expected and new state words from it.
constinit inline thread_local std::uint64_t thread_owner_bits = 0;

// The entry at byte offset `offset` (index * sizeof(ThreadEntry), which each
// pool precomputes so that finding its entry on a hit path is one addition).
inline ThreadEntry& thread_entry_at(std::size_t offset) noexcept {
  return *reinterpret_cast<ThreadEntry*>(reinterpret_cast<char*>(thread_entries.data()) + offset);
}

inline void release_thread_entry(ThreadEntry& e) noexcept {
  if (e.key == 0) return;
  if (e.lent()) {
    e.slot->state.store(make_state(0, kEmpty), std::memory_order_release);
  } else {
    disown(*e.slot, e.tag);
  }
  e.shard->owned.store(false, std::memory_order_release);
  e = ThreadEntry{};
}

struct ThreadKeepalive {
  std::array<std::shared_ptr<void>, kThreadCacheSize> pools;

  ThreadKeepalive() noexcept {
    thread_cache_state = ThreadCacheState::alive;
    thread_ordinal = next_thread_ordinal.fetch_add(1, std::memory_order_relaxed);
    thread_owner_bits = make_state(thread_ordinal + 1, kEmpty);
  }
  ThreadKeepalive(const ThreadKeepalive&) = delete;
  ThreadKeepalive& operator=(const ThreadKeepalive&) = delete;
  ~ThreadKeepalive() {
    thread_cache_state = ThreadCacheState::gone;
    for (std::size_t i = 0; i < kThreadCacheSize; ++i) {
      release_thread_entry(thread_entries[i]);
      pools[i].reset();
    }
  }
};

inline thread_local ThreadKeepalive thread_keepalive;

}  // namespace warmpool::internal
