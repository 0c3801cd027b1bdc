/* warmpool_extism.h — for writing Extism plugins in C: the 27 kernel imports
 * of module `extism:host/env` (docs/extism.md, ../shared/extism/README.md §1)
 * and small helpers that move bytes between the plugin's own memory and
 * kernel memory. Written for warmpool's own test plugins; any Extism host
 * runs what it builds.
 *
 *   #include "warmpool_extism.h"
 *
 *   WPX_EXPORT("shout") int32_t shout(void) {
 *     uint64_t length;
 *     char* text = wpx_input(&length);             // a malloc'd copy of the input
 *     if (text == NULL) return wpx_fail("out of memory");
 *     for (uint64_t i = 0; i < length; ++i) text[i] = (char)toupper((unsigned char)text[i]);
 *     wpx_output(text, length);                    // copied into kernel memory
 *     free(text);
 *     return 0;                                    // non-zero fails the call
 *   }
 *
 * Build (Debian's clang-14 + wasi-libc; cmake: warmpool_add_extism_plugin):
 *   clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -I plugins/include \
 *            shout.c -o shout.wasm
 *
 * A handle (wpx_handle) is an offset into kernel memory, never a pointer into
 * this module's memory; 0 is null. Kernel memory is wiped before every call,
 * so handles never outlive the call that made them.
 */
#ifndef WARMPOOL_EXTISM_H
#define WARMPOOL_EXTISM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__wasm32__)
#error "Extism plugins are built for wasm32 (clang --target=wasm32-wasi)"
#endif

#define WPX_EXPORT(name) __attribute__((export_name(name)))
#define WPX_KERNEL(name) __attribute__((import_module("extism:host/env"), import_name(name)))

typedef uint64_t wpx_handle;

/* Log levels as get_log_level answers them; logging off is WPX_LOG_OFF. */
enum { WPX_LOG_TRACE, WPX_LOG_DEBUG, WPX_LOG_INFO, WPX_LOG_WARN, WPX_LOG_ERROR };
#define WPX_LOG_OFF INT32_MAX

/* --- kernel memory --- */
WPX_KERNEL("alloc") wpx_handle wpx_alloc(uint64_t length);
WPX_KERNEL("free") void wpx_free(wpx_handle handle);
WPX_KERNEL("length") uint64_t wpx_length(wpx_handle handle);
WPX_KERNEL("length_unsafe") uint64_t wpx_length_unsafe(wpx_handle handle);
WPX_KERNEL("load_u8") uint8_t wpx_load_u8(uint64_t address);
WPX_KERNEL("load_u64") uint64_t wpx_load_u64(uint64_t address);
WPX_KERNEL("store_u8") void wpx_store_u8(uint64_t address, uint8_t value);
WPX_KERNEL("store_u64") void wpx_store_u64(uint64_t address, uint64_t value);

/* --- the call: input, output, error --- */
WPX_KERNEL("input_length") uint64_t wpx_input_length(void);
WPX_KERNEL("input_load_u8") uint8_t wpx_input_load_u8(uint64_t offset);
WPX_KERNEL("input_load_u64") uint64_t wpx_input_load_u64(uint64_t offset);
WPX_KERNEL("input_offset") wpx_handle wpx_input_offset(void);
WPX_KERNEL("output_set") void wpx_output_set(wpx_handle handle, uint64_t length);
WPX_KERNEL("error_set") void wpx_error_set(wpx_handle handle);
WPX_KERNEL("error_get") wpx_handle wpx_error_get(void);

/* --- config and vars: config_get/var_get free the key; var_set frees both --- */
WPX_KERNEL("config_get") wpx_handle wpx_config_get(wpx_handle key);
WPX_KERNEL("var_get") wpx_handle wpx_var_get(wpx_handle key);
WPX_KERNEL("var_set") void wpx_var_set(wpx_handle key, wpx_handle value);

/* --- logging (each frees its message) and HTTP --- */
WPX_KERNEL("log_trace") void wpx_log_trace(wpx_handle message);
WPX_KERNEL("log_debug") void wpx_log_debug(wpx_handle message);
WPX_KERNEL("log_info") void wpx_log_info(wpx_handle message);
WPX_KERNEL("log_warn") void wpx_log_warn(wpx_handle message);
WPX_KERNEL("log_error") void wpx_log_error(wpx_handle message);
WPX_KERNEL("get_log_level") int32_t wpx_get_log_level(void);
WPX_KERNEL("http_request") wpx_handle wpx_http_request(wpx_handle request_json, wpx_handle body);
WPX_KERNEL("http_status_code") int32_t wpx_http_status_code(void);
WPX_KERNEL("http_headers") wpx_handle wpx_http_headers(void);

/* --- helpers --- */

/* Copies `length` bytes from kernel memory at `address` into `out`: whole
 * words first, then the tail byte by byte, as the PDKs do. */
static inline void wpx_load_bytes(uint64_t address, void* out, uint64_t length) {
  uint8_t* bytes = (uint8_t*)out;
  uint64_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word = wpx_load_u64(address + i);
    memcpy(bytes + i, &word, 8);
  }
  for (; i < length; ++i) bytes[i] = wpx_load_u8(address + i);
}

static inline void wpx_store_bytes(uint64_t address, const void* data, uint64_t length) {
  const uint8_t* bytes = (const uint8_t*)data;
  uint64_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    memcpy(&word, bytes + i, 8);
    wpx_store_u64(address + i, word);
  }
  for (; i < length; ++i) wpx_store_u8(address + i, bytes[i]);
}

/* A new kernel block holding a copy of `data` (0 when empty or when kernel
 * memory is full). */
static inline wpx_handle wpx_new_bytes(const void* data, uint64_t length) {
  wpx_handle handle = wpx_alloc(length);
  if (handle != 0) wpx_store_bytes(handle, data, length);
  return handle;
}

static inline wpx_handle wpx_new_str(const char* text) {
  return wpx_new_bytes(text, strlen(text));
}

/* A malloc'd copy of block `handle` plus a NUL byte (so text can be used as a
 * C string); its length in *length. NULL when the handle is null or not the
 * start of a live block (length 0), or when malloc fails. */
static inline char* wpx_block_copy(wpx_handle handle, uint64_t* length) {
  *length = wpx_length(handle);
  if (*length == 0) return NULL;
  char* copy = (char*)malloc((size_t)*length + 1);
  if (copy == NULL) return NULL;
  wpx_load_bytes(handle, copy, *length);
  copy[*length] = '\0';
  return copy;
}

/* The call's input as a malloc'd, NUL-terminated copy (empty input: an empty
 * string); NULL only when malloc fails. */
static inline char* wpx_input(uint64_t* length) {
  *length = wpx_input_length();
  char* copy = (char*)malloc((size_t)*length + 1);
  if (copy == NULL) return NULL;
  uint64_t i = 0;
  for (; i + 8 <= *length; i += 8) {
    uint64_t word = wpx_input_load_u64(i);
    memcpy(copy + i, &word, 8);
  }
  for (; i < *length; ++i) copy[i] = (char)wpx_input_load_u8(i);
  copy[*length] = '\0';
  return copy;
}

static inline void wpx_output(const void* data, uint64_t length) {
  wpx_output_set(wpx_new_bytes(data, length), length);
}

static inline void wpx_output_str(const char* text) {
  wpx_output(text, strlen(text));
}

/* Sets the call's error to `message` and returns 1: `return wpx_fail("...");` */
static inline int32_t wpx_fail(const char* message) {
  wpx_error_set(wpx_new_str(message));
  return 1;
}

/* Config value / var of `key` as a malloc'd, NUL-terminated copy, or NULL
 * when absent (an empty value is absent too, as in the reference kernel). */
static inline char* wpx_config(const char* key, uint64_t* length) {
  return wpx_block_copy(wpx_config_get(wpx_new_str(key)), length);
}

static inline char* wpx_var(const char* key, uint64_t* length) {
  return wpx_block_copy(wpx_var_get(wpx_new_str(key)), length);
}

/* Sets var `key` (an empty value removes it, as wpx_var_remove does). The
 * kernel fails the call when vars are disabled or the store is full. */
static inline void wpx_var_put(const char* key, const void* value, uint64_t length) {
  wpx_var_set(wpx_new_str(key), wpx_new_bytes(value, length));
}

static inline void wpx_var_remove(const char* key) {
  wpx_var_set(wpx_new_str(key), 0);
}

/* Adds one to the u64 counter kept in var `key` (0 when absent or not 8
 * bytes) and returns the new count: how many calls this instance's vars saw. */
static inline uint64_t wpx_var_count_up(const char* key) {
  uint64_t length;
  char* stored = wpx_var(key, &length);
  uint64_t count = 0;
  if (stored != NULL && length == sizeof count) memcpy(&count, stored, sizeof count);
  free(stored);
  ++count;
  wpx_var_put(key, &count, sizeof count);
  return count;
}

/* Logs `length` bytes at `level` (WPX_LOG_*). */
static inline void wpx_log_bytes(int level, const void* message, uint64_t length) {
  wpx_handle handle = wpx_new_bytes(message, length);
  switch (level) {
    case WPX_LOG_TRACE: wpx_log_trace(handle); break;
    case WPX_LOG_DEBUG: wpx_log_debug(handle); break;
    case WPX_LOG_INFO: wpx_log_info(handle); break;
    case WPX_LOG_WARN: wpx_log_warn(handle); break;
    default: wpx_log_error(handle); break;
  }
}

static inline void wpx_log(int level, const char* message) {
  wpx_log_bytes(level, message, strlen(message));
}

#endif /* WARMPOOL_EXTISM_H */
