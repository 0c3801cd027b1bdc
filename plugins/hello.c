/* hello — the smallest WASI plugin: greets through printf (captured by the
 * host as the call's stdout) and returns the same greeting as its output.
 *
 *   warmpool run hello.wasm hello --input name.txt   # "Hello, <name>!"
 */
#include <stdio.h>

#include "warmpool_plugin.h"

WP_EXPORT("hello") wp_result hello(uint8_t* input, uint32_t len) {
  wp_buf greeting = wp_buf_new();
  wp_buf_puts(&greeting, "Hello, ");
  if (len == 0) {
    wp_buf_puts(&greeting, "world");
  } else {
    wp_buf_append(&greeting, input, len);
  }
  wp_buf_puts(&greeting, "!");
  printf("%.*s\n", (int)greeting.len, greeting.data);
  /* A reactor never reaches exit(), which is where stdio would flush. */
  fflush(stdout);
  return wp_buf_finish(&greeting);
}
