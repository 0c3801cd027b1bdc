/* fib — naive recursive Fibonacci, a pure-CPU benchmark: fib(25) makes about
 * 240,000 calls, which separates an interpreter from a JIT. fib(n) for n < 2
 * is n (so negative n gives n). */
#include "warmpool_plugin.h"

WP_EXPORT("fib") int64_t fib(int32_t n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}
