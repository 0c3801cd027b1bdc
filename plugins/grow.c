/* grow — a memory bomb: takes linear memory until the engine refuses, so a
 * host must run it under a memory cap (Limits::max_memory_pages); without one
 * it tries for the whole 4 GiB address space.
 *
 *   grow() -> i32        memory.grow one page at a time until it fails, then
 *                        returns the pages reached: equals the cap when the
 *                        cap works
 *   grow_bytes: (i32 ptr, i32 len) -> i64
 *                        malloc and fill 64 KiB blocks until malloc fails,
 *                        then abort like a C program out of memory (a trap)
 */
#include "warmpool_plugin.h"

WP_EXPORT("grow") int32_t grow(void) {
  while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) {
  }
  return (int32_t)__builtin_wasm_memory_size(0);
}

/* The blocks are chained from a global, so the compiler cannot prove them
 * unused and delete the allocations (and with them the loop's exit). */
static void* volatile hoard;

WP_EXPORT("grow_bytes") wp_result grow_bytes(uint8_t* input, uint32_t len) {
  (void)input;
  (void)len;
  for (;;) {
    void** block = malloc(64 * 1024);
    if (block == NULL) __builtin_trap();
    /* Touch it, so an engine cannot get away with reserving untouched pages. */
    memset(block, 0xA5, 64 * 1024);
    *block = hoard;
    hoard = block;
  }
}
