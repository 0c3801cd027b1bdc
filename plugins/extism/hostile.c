/* hostile.c — an Extism plugin that abuses the kernel: wild handles, stores
 * past a block, a 100 GB alloc, lengths of interior offsets, double frees,
 * output outside kernel memory, traps and runaway loops. The host must answer
 * each with a value, a clear error or a trap, never host memory corruption
 * (tests/extism/own_plugins_test.cpp). */
#include "report.h"
#include "warmpool_extism.h"

#define WILD_1TB (1ull << 40)

/* Loads from and stores to addresses no block covers, and input loads at
 * offsets past the input. */
WPX_EXPORT("wild_memory") int32_t wild_memory(void) {
  const uint64_t wild[] = {WILD_1TB, UINT64_MAX, UINT64_MAX - 7, UINT64_MAX - 3, 1ull << 63};
  uint64_t loaded = 0;
  for (unsigned i = 0; i < sizeof wild / sizeof wild[0]; ++i) {
    wpx_store_u8(wild[i], 0xff);
    wpx_store_u64(wild[i], UINT64_MAX);
    loaded += wpx_load_u8(wild[i]) + wpx_load_u64(wild[i]);
    loaded += wpx_input_load_u8(wild[i]) + wpx_input_load_u64(wild[i]);
  }
  /* A u64 that would run past the end of the input reads 0 as a whole. */
  if (wpx_input_length() > 0) loaded += wpx_input_load_u64(wpx_input_length() - 1);
  wpx_handle block = wpx_alloc(8);
  wpx_store_u64(block, 7);
  report r = {.length = 0};
  report_field(&r, "loaded", loaded);
  report_field(&r, "after", wpx_load_u64(block));
  report_output(&r);
  return 0;
}

/* A u64 store at a 4-byte block spills into its neighbour (kernel memory is
 * one arena, as in the reference kernel); stores far past the arena do
 * nothing; lengths stay as allocated. */
WPX_EXPORT("store_past_end") int32_t store_past_end(void) {
  wpx_handle block = wpx_alloc(4);
  wpx_handle neighbour = wpx_alloc(4);
  wpx_store_u64(block, 0x1111111111111111ull);
  wpx_store_u8(block + (1ull << 32), 1);
  wpx_store_u64(block + (1ull << 32), 1);
  report r = {.length = 0};
  report_field(&r, "length", wpx_length(block));
  report_field(&r, "neighbour_length", wpx_length(neighbour));
  report_field(&r, "neighbour_byte", wpx_load_u8(neighbour));
  report_output(&r);
  return 0;
}

/* 100 GB and 2^64-1 bytes are refused with 0; a small alloc still works. */
WPX_EXPORT("huge_alloc") int32_t huge_alloc(void) {
  report r = {.length = 0};
  report_field(&r, "100GB", wpx_alloc(100ull * 1000 * 1000 * 1000));
  report_field(&r, "max", wpx_alloc(UINT64_MAX));
  report_field(&r, "small_length", wpx_length(wpx_alloc(8)));
  report_output(&r);
  return 0;
}

/* length and length_unsafe of offsets inside or just past a block are 0. */
WPX_EXPORT("interior_length") int32_t interior_length(void) {
  wpx_handle block = wpx_alloc(16);
  report r = {.length = 0};
  report_field(&r, "start", wpx_length(block));
  report_field(&r, "plus1", wpx_length(block + 1));
  report_field(&r, "plus15", wpx_length_unsafe(block + 15));
  report_field(&r, "end", wpx_length(block + 16));
  report_field(&r, "minus1", wpx_length_unsafe(block - 1));
  report_output(&r);
  return 0;
}

/* Freeing twice is a no-op: two later allocations get distinct blocks. */
WPX_EXPORT("double_free") int32_t double_free(void) {
  wpx_handle block = wpx_alloc(32);
  wpx_free(block);
  wpx_free(block);
  wpx_handle first = wpx_alloc(32);
  wpx_handle second = wpx_alloc(32);
  wpx_store_u8(first, 1);
  wpx_store_u8(second, 2);
  report r = {.length = 0};
  report_str(&r, first != second ? "distinct" : "same");
  report_field(&r, "first", wpx_load_u8(first));
  report_field(&r, "second", wpx_load_u8(second));
  report_output(&r);
  return 0;
}

/* Frees of handles that are no block: nothing happens. */
WPX_EXPORT("free_wild") int32_t free_wild(void) {
  wpx_handle block = wpx_alloc(8);
  wpx_free(0);
  wpx_free(block + 1);
  wpx_free(WILD_1TB);
  wpx_free(UINT64_MAX);
  report r = {.length = 0};
  report_field(&r, "length", wpx_length(block));
  report_output(&r);
  return 0;
}

/* Output far outside kernel memory: the call fails with a clear error. */
WPX_EXPORT("output_wild") int32_t output_wild(void) {
  wpx_alloc(1);
  wpx_output_set(WILD_1TB, 16);
  return 0;
}

/* Output from a real block with a length running past the end of memory. */
WPX_EXPORT("output_too_long") int32_t output_too_long(void) {
  wpx_output_set(wpx_alloc(8), UINT64_MAX);
  return 0;
}

/* error_set of a handle that is no block: no error text, so no error. */
WPX_EXPORT("error_wild") int32_t error_wild(void) {
  wpx_error_set(WILD_1TB);
  wpx_output_str("no error");
  return 0;
}

/* config_get, var_get, var_set and log_* of wild handles. */
WPX_EXPORT("wild_keys") int32_t wild_keys(void) {
  wpx_log_info(WILD_1TB);
  wpx_var_set(WILD_1TB, UINT64_MAX);
  report r = {.length = 0};
  report_field(&r, "config", wpx_config_get(WILD_1TB));
  report_field(&r, "var", wpx_var_get(UINT64_MAX));
  report_output(&r);
  return 0;
}

/* 64 KiB blocks until kernel memory is full: how many fitted. */
WPX_EXPORT("fill_kernel_memory") int32_t fill_kernel_memory(void) {
  uint64_t blocks = 0;
  while (wpx_alloc(64 * 1024) != 0) ++blocks;
  report r = {.length = 0};
  report_field(&r, "blocks", blocks);
  report_output(&r);
  return 0;
}

/* Grows the plugin's own memory 1 MiB at a time until malloc fails, then
 * frees it all. The blocks are chained through their first word so that the
 * compiler cannot drop the allocations. */
WPX_EXPORT("fill_guest_memory") int32_t fill_guest_memory(void) {
  uint64_t mebibytes = 0;
  void* chain = NULL;
  for (void* block; (block = malloc(1024 * 1024)) != NULL; chain = block) {
    *(void**)block = chain;
    ++mebibytes;
  }
  while (chain != NULL) {
    void* next = *(void**)chain;
    free(chain);
    chain = next;
  }
  report r = {.length = 0};
  report_field(&r, "mebibytes", mebibytes);
  report_output(&r);
  return 0;
}

WPX_EXPORT("trap") int32_t trap(void) {
  __builtin_trap();
}

static volatile uint64_t depth_sink;

static uint64_t recurse(uint64_t depth) {
  volatile char frame[256];
  frame[depth % sizeof frame] = (char)depth;
  if (depth_sink == UINT64_MAX) return 0; /* never: the stack runs out first */
  depth_sink = depth;
  return recurse(depth + 1) + frame[0];
}

/* Unbounded recursion: the stack runs out and the call traps. */
WPX_EXPORT("stack_overflow") int32_t stack_overflow(void) {
  return (int32_t)recurse(0);
}

/* Never returns: only timeout_ms stops it. */
WPX_EXPORT("spin") int32_t spin(void) {
  for (;;) depth_sink = depth_sink + 1;
}
