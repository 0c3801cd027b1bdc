/* upper — ASCII upper-casing of its input; other bytes (including UTF-8
 * sequences) pass through unchanged. */
#include "warmpool_plugin.h"

WP_EXPORT("upper") wp_result upper(uint8_t* input, uint32_t len) {
  for (uint32_t i = 0; i < len; ++i) {
    if (input[i] >= 'a' && input[i] <= 'z') input[i] = (uint8_t)(input[i] - 'a' + 'A');
  }
  return wp_output(input, len);
}
