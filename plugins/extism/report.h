/* report.h — builds the short text reports warmpool's own Extism plugins
 * output, without stdio (which would make a plugin import WASI). */
#ifndef WARMPOOL_EXTISM_REPORT_H
#define WARMPOOL_EXTISM_REPORT_H

#include <stdint.h>
#include <string.h>

#include "warmpool_extism.h"

/* Text past the capacity is dropped; reports are far shorter. */
typedef struct {
  char text[1024];
  size_t length;
} report;

static inline void report_bytes(report* r, const void* data, size_t length) {
  size_t room = sizeof r->text - r->length;
  if (length > room) length = room;
  memcpy(r->text + r->length, data, length);
  r->length += length;
}

static inline void report_str(report* r, const char* text) {
  report_bytes(r, text, strlen(text));
}

static inline void report_u64(report* r, uint64_t value) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof digits - ++n] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  report_bytes(r, digits + sizeof digits - n, n);
}

static inline void report_i64(report* r, int64_t value) {
  if (value < 0) report_str(r, "-");
  report_u64(r, value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value);
}

static inline void report_hex(report* r, uint64_t value, int digits) {
  static const char hex[] = "0123456789abcdef";
  report_str(r, "0x");
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    report_bytes(r, &hex[(value >> shift) & 0xf], 1);
  }
}

/* "name=value " pairs, the most common line. */
static inline void report_field(report* r, const char* name, uint64_t value) {
  if (r->length > 0) report_str(r, " ");
  report_str(r, name);
  report_str(r, "=");
  report_u64(r, value);
}

static inline void report_output(const report* r) {
  wpx_output(r->text, r->length);
}

#endif /* WARMPOOL_EXTISM_REPORT_H */
