/* counter — state that survives between calls on one instance, for isolation
 * and reset tests: each increment bumps a counter and stamps a 4 KiB page of a
 * 64 KiB static buffer, so a reset must restore linear memory beyond the first
 * page of data to bring get() back to 0.
 *
 *   increment() -> i32   the new count (1 on a fresh instance)
 *   get() -> i32         the count, read back from the stamped buffer
 */
#include "warmpool_plugin.h"

enum { kPage = 4096, kPages = 16 };

static int32_t count;
static int32_t stamps[kPages * kPage / sizeof(int32_t)];

WP_EXPORT("increment") int32_t increment(void) {
  ++count;
  stamps[(count % kPages) * (kPage / sizeof(int32_t))] = count;
  return count;
}

/* Reads the stamp the last increment wrote rather than `count` alone, so the
 * answer is only right when both the variable and the buffer agree. */
WP_EXPORT("get") int32_t get(void) {
  if (count == 0) return 0;
  int32_t stamped = stamps[(count % kPages) * (kPage / sizeof(int32_t))];
  return stamped == count ? count : -1;
}
