/* kernel_tour.c — one export per feature of the Extism kernel, each with an
 * output a test can compare exactly (tests/extism/own_plugins_test.cpp). */
#include "report.h"
#include "warmpool_extism.h"

/* The input, back as the output. */
WPX_EXPORT("echo") int32_t echo(void) {
  uint64_t length;
  char* input = wpx_input(&length);
  if (input == NULL) return wpx_fail("echo: out of memory");
  wpx_output(input, length);
  free(input);
  return 0;
}

/* The input read as a kernel block (input_offset, length, load_*), then the
 * input length once that block is freed: "LENGTH|INPUT|LENGTH_AFTER_FREE". */
WPX_EXPORT("input_block") int32_t input_block(void) {
  wpx_handle input = wpx_input_offset();
  uint64_t length;
  char* copy = wpx_block_copy(input, &length);
  if (length != wpx_input_length() || wpx_length_unsafe(input) != length) {
    free(copy);
    return wpx_fail("input_block: length, length_unsafe and input_length disagree");
  }
  wpx_free(input);
  report r = {.length = 0};
  report_u64(&r, length);
  report_str(&r, "|");
  if (copy != NULL) report_bytes(&r, copy, length);
  report_str(&r, "|");
  report_u64(&r, wpx_input_length());
  report_output(&r);
  free(copy);
  return 0;
}

/* alloc, length, length_unsafe, load/store of u8 and u64 (also unaligned),
 * free, and reuse of a freed block. */
WPX_EXPORT("kernel_memory") int32_t kernel_memory(void) {
  wpx_handle none = wpx_alloc(0);
  wpx_handle block = wpx_alloc(16);
  uint64_t length = wpx_length(block);
  uint64_t length_unsafe = wpx_length_unsafe(block);
  uint64_t interior = wpx_length(block + 1) + wpx_length_unsafe(block + 1);
  wpx_store_u8(block, 0xab);
  uint8_t u8 = wpx_load_u8(block);
  wpx_store_u64(block + 3, 0x0102030405060708ull);
  uint64_t u64 = wpx_load_u64(block + 3);
  uint8_t low_byte = wpx_load_u8(block + 3);
  wpx_free(block);
  uint64_t freed = wpx_length(block) + wpx_length_unsafe(block);
  wpx_handle again = wpx_alloc(8);
  report r = {.length = 0};
  report_field(&r, "alloc(0)", none);
  report_field(&r, "length", length);
  report_field(&r, "length_unsafe", length_unsafe);
  report_field(&r, "interior", interior);
  report_str(&r, " u8=");
  report_hex(&r, u8, 2);
  report_str(&r, " u64=");
  report_hex(&r, u64, 16);
  report_field(&r, "low_byte", low_byte);
  report_field(&r, "freed", freed);
  report_str(&r, again == block ? " reused=yes" : " reused=no");
  report_output(&r);
  return 0;
}

/* The config value named by the input, or "(absent)". */
WPX_EXPORT("config") int32_t config(void) {
  uint64_t key_length;
  char* key = wpx_input(&key_length);
  if (key == NULL) return wpx_fail("config: out of memory");
  uint64_t length;
  char* value = wpx_config(key, &length);
  if (value == NULL) {
    wpx_output_str("(absent)");
  } else {
    wpx_output(value, length);
  }
  free(value);
  free(key);
  return 0;
}

/* Var "v" becomes the input; the output is its previous value or "(none)". */
WPX_EXPORT("var_swap") int32_t var_swap(void) {
  uint64_t length;
  char* previous = wpx_var("v", &length);
  uint64_t input_length;
  char* input = wpx_input(&input_length);
  if (input == NULL) return wpx_fail("var_swap: out of memory");
  wpx_var_put("v", input, input_length);
  if (previous == NULL) {
    wpx_output_str("(none)");
  } else {
    wpx_output(previous, length);
  }
  free(input);
  free(previous);
  return 0;
}

WPX_EXPORT("var_remove") int32_t var_remove(void) {
  wpx_var_remove("v");
  wpx_output_str("removed");
  return 0;
}

/* Var "count" (a u64) plus one, output in decimal: how many calls this
 * instance's vars have seen. */
WPX_EXPORT("var_count") int32_t var_count(void) {
  report r = {.length = 0};
  report_u64(&r, wpx_var_count_up("count"));
  report_output(&r);
  return 0;
}

/* Sets the input as the error and checks error_get answers that block: the
 * call fails with exactly the input (return code 0). */
WPX_EXPORT("error_roundtrip") int32_t error_roundtrip(void) {
  uint64_t length;
  char* message = wpx_input(&length);
  if (message == NULL) return wpx_fail("error_roundtrip: out of memory");
  wpx_handle error = wpx_new_bytes(message, length);
  wpx_error_set(error);
  uint64_t read_length;
  char* read = wpx_block_copy(wpx_error_get(), &read_length);
  int same = wpx_error_get() == error && read_length == length &&
             (length == 0 || memcmp(read, message, length) == 0);
  free(read);
  free(message);
  if (!same) wpx_fail("error_roundtrip: error_get did not answer the error just set");
  return 0;
}

/* An error set and then cleared with error_set(0) does not fail the call. */
WPX_EXPORT("error_cleared") int32_t error_cleared(void) {
  wpx_error_set(wpx_new_str("transient"));
  wpx_error_set(0);
  wpx_output_str(wpx_error_get() == 0 ? "cleared" : "error_get still answers a handle");
  return 0;
}

/* A non-zero return code without an error. */
WPX_EXPORT("exit_code") int32_t exit_code(void) {
  return 42;
}

/* One line at each level ("<level>: INPUT"); the output is get_log_level. */
WPX_EXPORT("log_levels") int32_t log_levels(void) {
  static const char* const names[] = {"trace", "debug", "info", "warn", "error"};
  uint64_t length;
  char* input = wpx_input(&length);
  if (input == NULL) return wpx_fail("log_levels: out of memory");
  for (int level = WPX_LOG_TRACE; level <= WPX_LOG_ERROR; ++level) {
    report line = {.length = 0};
    report_str(&line, names[level]);
    report_str(&line, ": ");
    report_str(&line, input);
    wpx_log_bytes(level, line.text, line.length);
  }
  free(input);
  report r = {.length = 0};
  report_i64(&r, wpx_get_log_level());
  report_output(&r);
  return 0;
}

/* A GET of the URL given as input: "status=S body=BODY". */
WPX_EXPORT("http_get") int32_t http_get(void) {
  uint64_t length;
  char* url = wpx_input(&length);
  if (url == NULL) return wpx_fail("http_get: out of memory");
  report request = {.length = 0};
  report_str(&request, "{\"url\":\"");
  report_bytes(&request, url, length);
  report_str(&request, "\",\"method\":\"GET\"}");
  free(url);
  wpx_handle response = wpx_http_request(wpx_new_bytes(request.text, request.length), 0);
  uint64_t body_length;
  char* body = wpx_block_copy(response, &body_length);
  report r = {.length = 0};
  report_field(&r, "status", (uint64_t)wpx_http_status_code());
  report_str(&r, " body=");
  if (body != NULL) report_bytes(&r, body, body_length);
  free(body);
  report_output(&r);
  return 0;
}

/* Before any request: the status code and response headers are both 0. */
WPX_EXPORT("http_before_request") int32_t http_before_request(void) {
  report r = {.length = 0};
  report_field(&r, "status", (uint64_t)wpx_http_status_code());
  report_field(&r, "headers", wpx_http_headers());
  report_output(&r);
  return 0;
}
