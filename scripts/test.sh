#!/usr/bin/env bash
# Runs every test: the whole suite in Release, again under ASan+UBSan, the
# concurrency-labelled tests and the V8 loader's tests under ThreadSanitizer,
# and each fuzz target for a short bounded time. Installs what it needs first
# (scripts/setup.sh).
#
#   scripts/test.sh            # everything
#   WARMPOOL_STAGES="release asan" scripts/test.sh   # a subset
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# ccache hits across clones in other folders (CI builds a fresh clone).
export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=true
bash scripts/setup.sh

stages=${WARMPOOL_STAGES:-"release asan tsan fuzz"}
export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-2}

# Build output goes to build/logs/<preset>.log and is shown only when the
# build fails; ctest prints one line per test and its summary.
mkdir -p build/logs
run_preset() {  # preset, extra ctest args...
  local preset=$1; shift
  local log="build/logs/$preset.log" start=$SECONDS
  echo "=== $preset: configure + build (log: $log)"
  if ! { cmake --preset "$preset" && cmake --build --preset "$preset"; } >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "=== $preset: build FAILED (whole log: $log)" >&2
    exit 1
  fi
  echo "=== $preset: test"
  ctest --preset "$preset" --timeout 300 "$@"
  echo "=== $preset: passed in $((SECONDS - start)) s"
}

for stage in $stages; do
  case $stage in
    release) run_preset release ;;
    asan) run_preset asan ;;
    # libnode is not built with TSan, so its own memory accesses are invisible
    # and only its pthread calls are seen. Preset tsan-v8 therefore sets
    # ignore_noninstrumented_modules=1: the memory accesses that interceptors
    # (free, memcpy, mutex destroy, ...) make on libnode's behalf are not
    # checked, while every lock and unlock in libnode still orders threads and
    # all of our own code stays fully checked.
    tsan) run_preset tsan -L concurrency; run_preset tsan-v8 ;;
    fuzz) if [ -x scripts/fuzz.sh ]; then bash scripts/fuzz.sh; fi ;;
    *) echo "unknown stage '$stage' (release, asan, tsan, fuzz)" >&2; exit 2 ;;
  esac
done
echo "=== all test stages passed: $stages"
