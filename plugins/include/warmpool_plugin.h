/* warmpool_plugin.h — for writing warmpool plugins in C: the allocator exports
 * the host needs for bytes calls (wp_alloc, wp_free), a macro to export a
 * function, and helpers to hand output back to the host. The contract itself
 * is docs/plugin-abi.md.
 *
 *   #include "warmpool_plugin.h"
 *
 *   // (i32 ptr, i32 len) -> i64: the input is ours until we return.
 *   WP_EXPORT("shout") wp_result shout(uint8_t* input, uint32_t len) {
 *     wp_buf out = wp_buf_new();
 *     wp_buf_append(&out, input, len);
 *     wp_buf_puts(&out, "!");
 *     return wp_buf_finish(&out);
 *   }
 *
 * Build (Debian's clang-14 + wasi-libc):
 *   clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -I plugins/include \
 *            shout.c -o shout.wasm
 *
 * Output memory must come from malloc (the host hands it to wp_free after the
 * call) or be the input buffer itself. Running out of memory in a helper traps,
 * which the host reports as an error naming the export: a plugin never returns
 * silently truncated output.
 */
#ifndef WARMPOOL_PLUGIN_H
#define WARMPOOL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Exports a function under `name` (no separate linker flag needed). */
#if defined(__wasm32__)
#define WP_EXPORT(name) __attribute__((export_name(name)))
#elif defined(WARMPOOL_PLUGIN_NATIVE)
/* A native build of a plugin's logic (fuzz/fuzz_markdown.cpp) exports
 * nothing and never packs pointers into a wp_result. */
#define WP_EXPORT(name)
#else
#error "warmpool plugins are built for wasm32 (clang --target=wasm32-wasi)"
#endif

/* What a bytes export returns: (out_ptr << 32) | out_len; 0 is empty output. */
typedef uint64_t wp_result;

/* The host allocates the input with this; 0 means out of memory. Zero-byte
 * requests still get a distinct, non-null pointer. Weak so that a plugin made
 * of several files can include this header in each. */
WP_EXPORT("wp_alloc") __attribute__((weak)) void* wp_alloc(uint32_t size) {
  return malloc(size == 0 ? 1 : size);
}

/* The host frees the input and (if different) the output after each call. */
WP_EXPORT("wp_free") __attribute__((weak)) void wp_free(void* ptr) {
  free(ptr);
}

/* Packs a buffer the host will own: malloc'd memory or the input pointer. */
static inline wp_result wp_output(const void* data, uint32_t len) {
  return ((uint64_t)(uintptr_t)data << 32) | (uint64_t)len;
}

/* Returns a malloc'd copy of `len` bytes at `data`. */
static inline wp_result wp_output_copy(const void* data, uint32_t len) {
  if (len == 0) return 0;
  void* copy = malloc(len);
  if (copy == NULL) __builtin_trap();
  memcpy(copy, data, len);
  return wp_output(copy, len);
}

/* Returns a malloc'd copy of a NUL-terminated string (without the NUL). */
static inline wp_result wp_output_str(const char* text) {
  return wp_output_copy(text, (uint32_t)strlen(text));
}

/* A growable output buffer; wp_buf_finish() hands its bytes to the host. */
typedef struct {
  char* data;
  uint32_t len;
  uint32_t cap;
} wp_buf;

static inline wp_buf wp_buf_new(void) {
  wp_buf buf = {NULL, 0, 0};
  return buf;
}

static inline void wp_buf_reserve(wp_buf* buf, uint32_t extra) {
  if (extra <= buf->cap - buf->len) return;
  if (extra > UINT32_MAX - buf->len) __builtin_trap();
  uint32_t need = buf->len + extra;
  uint32_t cap = buf->cap < 64 ? 64 : buf->cap;
  while (cap < need) cap = cap > UINT32_MAX / 2 ? need : cap * 2;
  char* grown = (char*)realloc(buf->data, cap);
  if (grown == NULL) __builtin_trap();
  buf->data = grown;
  buf->cap = cap;
}

static inline void wp_buf_append(wp_buf* buf, const void* data, uint32_t len) {
  if (len == 0) return;
  wp_buf_reserve(buf, len);
  memcpy(buf->data + buf->len, data, len);
  buf->len += len;
}

static inline void wp_buf_putc(wp_buf* buf, char c) {
  wp_buf_reserve(buf, 1);
  buf->data[buf->len++] = c;
}

static inline void wp_buf_puts(wp_buf* buf, const char* text) {
  wp_buf_append(buf, text, (uint32_t)strlen(text));
}

/* Hands the bytes to the host (which frees them) and empties `buf`. */
static inline wp_result wp_buf_finish(wp_buf* buf) {
  wp_result result = buf->len == 0 ? 0 : wp_output(buf->data, buf->len);
  if (buf->len == 0) free(buf->data);
  *buf = wp_buf_new();
  return result;
}

#endif /* WARMPOOL_PLUGIN_H */
