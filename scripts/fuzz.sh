#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-19 + ASan + UBSan) and runs each
# for a short bounded time. Exits non-zero, with the crashing input saved under
# build/fuzz/findings/, as soon as a target finds a crash, hang or leak.
#
# The seed is fixed (FUZZ_SEED, default 1), so that a run's verdict is about
# the code under test: scripts/test.sh, and so CI, walk the same inputs on
# every run. Exploration (a new seed each time, longer) is FUZZ_SEED=0, which
# libFuzzer takes as "pick one"; its findings go into fuzz/corpus/ as
# regress_* inputs, which every run then replays first.
#
# Each target's progress goes to build/fuzz/logs/<target>.log; the console
# gets one summary line per target, or the log's tail when it fails.
#
#   scripts/fuzz.sh                      # every target, 30 s each, seed 1
#   FUZZ_SEED=0 FUZZ_SECONDS=1800 scripts/fuzz.sh fuzz_module
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build="$repo/build/fuzz"
seconds=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-1}
targets=("$@")
symbolizer=$(command -v llvm-symbolizer-19 || command -v llvm-symbolizer || true)
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
((${#targets[@]})) || targets=(fuzz_module fuzz_bytes_abi fuzz_markdown fuzz_extism_manifest fuzz_extism_kernel)

logs="$build/logs"
mkdir -p "$logs"
CC=clang-19 CXX=clang++-19 cmake -S "$repo/fuzz" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build "$build" -j2 --target "${targets[@]}" >"$logs/build.log" 2>&1; then
  tail -n 60 "$logs/build.log"
  echo "=== fuzz: build failed (whole log: $logs/build.log)" >&2
  exit 1
fi

for target in "${targets[@]}"; do
  # Seeds: the committed corpus plus, read-only, inputs the build already has.
  case $target in
    fuzz_module) corpus=module; extra=("$build/warmpool/plugins" "$repo/tests/wasm/data"); max_len=4096 ;;
    fuzz_bytes_abi) corpus=bytes_abi; extra=("$repo/plugins/testdata/markdown"); max_len=2000 ;;
    fuzz_markdown) corpus=bytes_abi; extra=("$repo/plugins/testdata/markdown"); max_len=4096 ;;
    fuzz_extism_manifest) corpus=extism_manifest; extra=(); max_len=4096 ;;
    fuzz_extism_kernel) corpus=extism_kernel; extra=(); max_len=4096 ;;
    *) echo "unknown fuzz target '$target'" >&2; exit 2 ;;
  esac
  seeds=()
  for dir in "${extra[@]}"; do [ -d "$dir" ] && seeds+=("$dir"); done
  work="$build/corpus/$target"  # grows as the fuzzer learns; never committed
  findings="$build/findings/$target"
  mkdir -p "$work" "$findings"
  log="$logs/$target.log"
  if ! "$build/$target" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$findings/" \
    "$work" "$repo/fuzz/corpus/$corpus" "${seeds[@]}" >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "=== $target: FAILED, seed $seed; input saved under $findings/ (whole log: $log)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
  echo "=== $target: ${runs:-?} inputs in ${seconds}s, seed $seed, peak RSS ${rss:-?} MB, no findings"
done
echo "=== fuzz: no findings (${targets[*]})"
