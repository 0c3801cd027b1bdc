#!/usr/bin/env bash
# Instructions per iteration of warmpool_wasm_bench rows, counted by callgrind:
# a figure the machine's load does not move, for "no slower than before" checks
# between two builds (timed ratios within a few % are code layout; see
# docs/PERFORMANCE.md, "wabt's call paths against the build before the
# embedding API"). Each row runs at K and 2K iterations; the difference divided
# by K cancels the set-up.
#
#   bench/instruction_counts.sh BUILD_DIR [K] [ROW_REGEX]
#   bench/instruction_counts.sh build/release 20 '^wabt/markdown/pooled_call_reuse/'
set -euo pipefail
build=${1:?usage: instruction_counts.sh BUILD_DIR [K] [ROW_REGEX]}
k=${2:-20}
rows=${3:-'^wabt/(markdown/pooled_call_reuse|markdown/instantiate|echo_16B_call|fib_1_call)/'}
bench="$build/bench/warmpool_wasm_bench"
[[ -x $bench ]] || { echo "instruction_counts.sh: no $bench (build the warmpool_wasm_bench target)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instruction_counts.sh: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Ir of one row at n iterations.
instructions() {
  local row=$1 n=$2
  WARMPOOL_BENCH_ITERATIONS=$n valgrind --tool=callgrind --callgrind-out-file="$work/cg" \
    "$bench" --benchmark_filter="$row" >"$work/log" 2>&1
  awk '/^(summary|totals):/ {print $2; exit}' "$work/cg"
}

names=$(WARMPOOL_BENCH_ITERATIONS=1 "$bench" --benchmark_list_tests --benchmark_filter="$rows")
printf '%-45s %15s\n' row instructions/iteration
for name in $names; do
  base=${name%/iterations:*}
  once=$(instructions "^$base/iterations:" "$k")
  twice=$(instructions "^$base/iterations:" $((2 * k)))
  printf '%-45s %15d\n' "$base" $(((twice - once) / k))
done
