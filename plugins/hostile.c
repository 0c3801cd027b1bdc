/* hostile — one module mixing a well-behaved export with every kind of
 * misbehaviour, so one pool can serve good and hostile calls alike. All
 * exports use the bytes ABI (so an HTTP server can POST to any of them):
 *
 *   echo      returns its input, or "poisoned" if an earlier hostile call on
 *             this instance left its damage (the host reused an instance it
 *             should have destroyed or reset)
 *   spin      loops forever
 *   grow      mallocs and fills memory until malloc fails, then aborts
 *   trap      aborts (an `unreachable` trap)
 *   recurse   unbounded recursion, until the engine's call stack overflows
 *   scribble  returns normally (empty output) but leaves the damage behind:
 *             what a reset must undo
 *
 * Every hostile export first scribbles over `canary`, the way a crashing
 * plugin leaves half-updated state behind.
 */
#include "warmpool_plugin.h"

static char canary[] = "warmpool canary: this instance is intact";

static void damage(void) {
  for (size_t i = 0; i + 1 < sizeof canary; ++i) canary[i] = 'X';
}

static int intact(void) {
  return memcmp(canary, "warmpool canary: this instance is intact", sizeof canary) == 0;
}

WP_EXPORT("echo") wp_result echo(uint8_t* input, uint32_t len) {
  if (!intact()) return wp_output_str("poisoned");
  return wp_output(input, len);
}

WP_EXPORT("spin") wp_result spin(uint8_t* input, uint32_t len) {
  (void)input;
  (void)len;
  damage();
  /* The volatile store keeps the loop from being optimised into a trap. */
  for (volatile uint32_t turns = 0;; turns = turns + 1) {
  }
}

/* Chains what grow takes, so the compiler cannot delete the allocations. */
static void* volatile hoard;

WP_EXPORT("grow") wp_result grow(uint8_t* input, uint32_t len) {
  (void)input;
  (void)len;
  damage();
  for (;;) {
    void** block = malloc(64 * 1024);
    if (block == NULL) __builtin_trap();
    memset(block, 0xA5, 64 * 1024);
    *block = hoard;
    hoard = block;
  }
}

WP_EXPORT("trap") wp_result trap(uint8_t* input, uint32_t len) {
  (void)input;
  (void)len;
  damage();
  __builtin_trap();
}

/* Uses the result after the call in a way the compiler cannot turn into a
 * loop, so every level is a real wasm frame on the engine's call stack. The
 * depth test only keeps the compiler from proving the recursion endless. */
__attribute__((noinline)) static uint32_t dive(uint32_t depth) {
  if (depth == UINT32_MAX) return 1;
  return dive(depth + 1) / (depth | 1) + depth;
}

WP_EXPORT("recurse") wp_result recurse(uint8_t* input, uint32_t len) {
  (void)input;
  (void)len;
  damage();
  return dive(0);
}

WP_EXPORT("scribble") wp_result scribble(uint8_t* input, uint32_t len) {
  (void)input;
  (void)len;
  damage();
  return 0;
}
