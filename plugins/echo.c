/* echo — returns its input unchanged: the cheapest possible bytes call, used
 * to measure the host's own per-call cost and by the bytes-ABI fuzzer. */
#include "warmpool_plugin.h"

/* The input buffer is ours until we return, so it can be the output. */
WP_EXPORT("echo") wp_result echo(uint8_t* input, uint32_t len) {
  return wp_output(input, len);
}
