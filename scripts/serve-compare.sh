#!/usr/bin/env bash
# Compares two `warmpool` binaries serving the same plugins under wrk on
# loopback, alternating rows so both see the same machine, and prints
# requests/s, p99 and the server's own CPU time per request (user + system
# from /proc/<pid>/stat: the steadier figure on a shared machine).
#
#   scripts/serve-compare.sh OLD_BIN NEW_BIN [PLUGIN_DIR]
#   ROUNDS=3 DURATION=8 CONNECTIONS=16 NEW_ARGS="--timeout-ms 0" scripts/serve-compare.sh a b
#   CONNECTIONS=256 ROWS=markdown scripts/serve-compare.sh a b     # overload
set -euo pipefail
old=${1:?usage: serve-compare.sh OLD_BIN NEW_BIN [PLUGIN_DIR]}
new=${2:?usage: serve-compare.sh OLD_BIN NEW_BIN [PLUGIN_DIR]}
plugins=${3:-build/release/plugins}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
ROWS=${ROWS:-"healthz echo markdown"}
OLD_ARGS=${OLD_ARGS:-}
NEW_ARGS=${NEW_ARGS:-}
PORT=${PORT:-18490}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib/serve_bench.sh
source "$repo/scripts/lib/serve_bench.sh"
serve_bench_setup serve-compare
printf 'hello, warmpool\n' > "$work/echo.body"
echo_script=$(post_script "$work/echo.body")
markdown_script=$(post_script "$repo/plugins/testdata/markdown/document.md")

row() {  # label binary extra-args
  local plugin=echo.wasm path=/healthz script=()
  case $1 in
    echo) path=/call/echo script=(-s "$echo_script") ;;
    markdown) plugin=markdown.wasm path=/call/render script=(-s "$markdown_script") ;;
  esac
  # shellcheck disable=SC2086
  start_server "$PORT" "$2" serve "$plugins/$plugin" --listen 127.0.0.1:$PORT --threads "$THREADS" $3
  local before after
  before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  run_wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s "${script[@]}" \
    "http://127.0.0.1:$PORT$path"
  after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  stop_server
  printf '| %s | %s %s | %s | %s | %s | %s | %.1f |\n' "$1" "$(basename "$2")" "$3" "$wrk_rps" \
    "$wrk_p99_ms" "$wrk_non2xx" "$wrk_timeouts" \
    "$(bc -l <<<"($after - $before) * 1000000 / $(getconf CLK_TCK) / $wrk_requests")"
}

echo "| row | binary | requests/s | p99 ms | non-2xx | wrk timeouts | server CPU µs/request |"
echo "|---|---|---:|---:|---:|---:|---:|"
for _ in $(seq "$ROUNDS"); do
  for r in $ROWS; do
    row "$r" "$old" "$OLD_ARGS"
    row "$r" "$new" "$NEW_ARGS"
  done
done
