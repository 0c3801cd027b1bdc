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
command -v wrk >/dev/null || { echo "serve-compare: wrk not found (apt-get install wrk)" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
repo=$(cd "$(dirname "$0")/.." && pwd)
cat > "$work/echo.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "hello, warmpool\n"
LUA
cat > "$work/markdown.lua" <<LUA
local f = assert(io.open("$repo/plugins/testdata/markdown/document.md", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
LUA

row() {  # label binary extra-args
  local plugin=echo.wasm path=/healthz script=()
  case $1 in
    echo) path=/call/echo script=(-s "$work/echo.lua") ;;
    markdown) plugin=markdown.wasm path=/call/render script=(-s "$work/markdown.lua") ;;
  esac
  # shellcheck disable=SC2086
  "$2" serve "$plugins/$plugin" --listen 127.0.0.1:$PORT --threads "$THREADS" $3 >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
  local before after out
  before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency "${script[@]}" \
    "http://127.0.0.1:$PORT$path" 2>&1)
  after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
  local total rps p99 non2xx timeouts ticks
  total=$(awk '/requests in/{print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $5}' <<<"$out")
  timeouts=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' <<<"$out")
  ticks=$(getconf CLK_TCK)
  printf '| %s | %s %s | %s | %s | %s | %s | %.1f |\n' "$1" "$(basename "$2")" "$3" "$rps" "$p99" \
    "${non2xx:-0}" "${timeouts:-0}" "$(bc -l <<<"($after - $before) * 1000000 / $ticks / $total")"
}

echo "| row | binary | requests/s | p99 | non-2xx | wrk timeouts | server CPU µs/request |"
echo "|---|---|---:|---:|---:|---:|---:|"
for _ in $(seq "$ROUNDS"); do
  for r in $ROWS; do
    row "$r" "$old" "$OLD_ARGS"
    row "$r" "$new" "$NEW_ARGS"
  done
done
