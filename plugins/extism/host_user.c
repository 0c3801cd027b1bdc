/* host_user.c — an Extism plugin that calls host functions of module
 * `extism:host/user`: one taking and returning kernel blocks, one taking and
 * returning plain integers. */
#include "report.h"
#include "warmpool_extism.h"

#define WPX_USER(name) __attribute__((import_module("extism:host/user"), import_name(name)))

/* The host's answer to a block of bytes, as a new block. */
WPX_USER("tag") wpx_handle host_tag(wpx_handle bytes);
/* Integers, not handles. */
WPX_USER("add") int64_t host_add(int64_t a, int64_t b);

/* The host's tag of the input, then " calls=N": N counts this instance's
 * calls of `tag` in var "calls" (kept by the plugin, so it persists exactly
 * as vars do). */
WPX_EXPORT("tag") int32_t tag(void) {
  uint64_t length;
  char* input = wpx_input(&length);
  if (input == NULL) return wpx_fail("tag: out of memory");
  wpx_handle answer = host_tag(wpx_new_bytes(input, length));
  free(input);
  uint64_t answer_length;
  char* text = wpx_block_copy(answer, &answer_length);
  if (text == NULL) return wpx_fail("tag: the host answered no block");
  report r = {.length = 0};
  report_bytes(&r, text, answer_length);
  report_field(&r, "calls", wpx_var_count_up("calls"));
  free(text);
  report_output(&r);
  return 0;
}

WPX_EXPORT("add") int32_t add(void) {
  report r = {.length = 0};
  report_i64(&r, host_add(40, 2));
  report_str(&r, " ");
  report_i64(&r, host_add(-5, 3));
  report_output(&r);
  return 0;
}
