#!/usr/bin/env bash
# Load-tests `warmpool serve` with wrk on loopback and prints a Markdown table
# (the figures in docs/PERFORMANCE.md, "Server").
#
#   scripts/serve-bench.sh [BUILD_DIR]          # default build/release
#   DURATION=10 CONNECTIONS=16 scripts/serve-bench.sh build/release
#   SOAK=300 scripts/serve-bench.sh             # also a 5-minute RSS soak (pooled echo, wabt)
#   PIN=1 scripts/serve-bench.sh                # server on CPU 0 (one thread), wrk on CPU 1
#
# For each engine built into the binary, each plugin (echo, markdown) and each
# mode (pool reuse, pool fresh, --no-pool) it starts a server, runs wrk for
# DURATION seconds and records requests/s and latency percentiles; GET /healthz
# gives the server's own ceiling. Then `warmpool bench --rate` compares fresh
# and reuse p99 at an arrival rate below refill capacity.
set -euo pipefail

BUILD_DIR=${1:-build/release}
WARMPOOL=${WARMPOOL:-$BUILD_DIR/src/cli/warmpool}
PLUGINS=${PLUGINS:-$BUILD_DIR/plugins}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
WRK_THREADS=${WRK_THREADS:-1}
SERVER_THREADS=${SERVER_THREADS:-2}
PORT=${PORT:-18480}
RATE=${RATE:-2000}
SOAK=${SOAK:-0}
# PIN=1: client and server each get a core of their own instead of sharing both, so
# requests/s follow the server's own cost per request rather than wrk's share of the CPUs.
PIN=${PIN:-0}
server_cpu=() client_cpu=()
if [[ $PIN == 1 ]]; then
  SERVER_THREADS=1 server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

command -v wrk >/dev/null || { echo "serve-bench: wrk not found (apt-get install wrk)" >&2; exit 2; }
[[ -x $WARMPOOL ]] || { echo "serve-bench: no warmpool binary at $WARMPOOL" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The markdown body: the golden "document" page.
md_input=$(dirname "$0")/../plugins/testdata/markdown/document.md
printf 'hello, warmpool\n' > "$work/echo.body"
cp "$md_input" "$work/markdown.body"

post_script() {  # $1 = body file
  cat > "$work/post.lua" <<LUA
local f = assert(io.open("$1", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
LUA
  echo "$work/post.lua"
}

start_server() {  # plugin, then serve flags
  local plugin=$1; shift
  rm -f "$work/serve.out"  # so the wait below cannot see the previous server's line
  "${server_cpu[@]}" "$WARMPOOL" serve "$PLUGINS/$plugin.wasm" --listen "127.0.0.1:$PORT" --threads "$SERVER_THREADS" \
    "$@" > "$work/serve.out" 2> "$work/serve.err" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q listening "$work/serve.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "serve-bench: server did not start: $(cat "$work/serve.err")" >&2
  exit 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=
}

# CPU time (user + system, in clock ticks) the server has used so far.
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

# wrk --latency output -> "req/s p50 p90 p99 non-2xx cpu" (latencies in µs; cpu = server CPU
# µs per request, which depends less on other load on the machine than req/s does)
run_wrk() {  # url, [lua script]
  local args=(-t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency)
  [[ -n ${2:-} ]] && args+=(-s "$2")
  local before after
  before=$(server_ticks)
  "${client_cpu[@]}" wrk "${args[@]}" "$1" > "$work/wrk.out"
  after=$(server_ticks)
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    function us(v) {
      if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000
      return v
    }
    /^ +50%/ { p50 = us($2) } /^ +90%/ { p90 = us($2) } /^ +99%/ { p99 = us($2) }
    /Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    / requests in / { n = $1 }
    END { printf "%.0f %.0f %.0f %.0f %d %.1f\n", rps, p50, p90, p99, bad, ticks * 1e6 / hz / n }' \
    "$work/wrk.out"
}

engines=$("$WARMPOOL" run --help | sed -n 's/.*built in: \([a-z0-9|]*\)).*/\1/p' | tr '|' ' ')
echo "# warmpool serve under wrk: ${DURATION}s per row, $CONNECTIONS connections, wrk $WRK_THREADS thread(s), server $SERVER_THREADS thread(s), $(nproc) cores$([[ $PIN == 1 ]] && echo ", server pinned to CPU 0 and wrk to CPU 1")"
echo
echo "| engine | plugin | mode | requests/s | p50 µs | p90 µs | p99 µs | non-2xx | server CPU µs/request |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
for engine in $engines; do
  start_server echo --engine "$engine"
  read -r rps p50 p90 p99 bad cpu < <(run_wrk "http://127.0.0.1:$PORT/healthz")
  echo "| $engine | - | GET /healthz | $rps | $p50 | $p90 | $p99 | $bad | $cpu |"
  stop_server
  for plugin in echo markdown; do
    export_name=$([[ $plugin == markdown ]] && echo render || echo "$plugin")
    lua=$(post_script "$work/$plugin.body")
    for mode in "reuse" "fresh" "no-pool"; do
      if [[ $mode == no-pool ]]; then
        start_server "$plugin" --engine "$engine" --no-pool
      else
        start_server "$plugin" --engine "$engine" --policy "$mode"
      fi
      read -r rps p50 p90 p99 bad cpu < <(run_wrk "http://127.0.0.1:$PORT/call/$export_name" "$lua")
      echo "| $engine | $plugin | $mode | $rps | $p50 | $p90 | $p99 | $bad | $cpu |"
      stop_server
    done
  done
done

echo
echo "# warmpool bench --rate $RATE (open loop): pool p99 under fresh vs reuse, echo on wabt"
for policy in reuse fresh; do
  "$WARMPOOL" bench "$PLUGINS/echo.wasm" --rate "$RATE" --duration "$DURATION" --policy "$policy" --json \
    | python3 -c 'import json,sys; j=json.load(sys.stdin); m=j["modes"][0]; print("%s: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, hits %d, misses %d" % (m["mode"], m["latency_us"]["p50"], m["latency_us"]["p99"], m["latency_us"]["p99_9"], m["hits"], m["misses"]))'
done

if (( SOAK > 0 )); then
  echo
  echo "# RSS soak: pooled echo on wabt at full load for ${SOAK}s"
  start_server echo --engine wabt --policy reuse
  lua=$(post_script "$work/echo.body")
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${SOAK}s" -s "$lua" "http://127.0.0.1:$PORT/call/echo" \
    > "$work/soak.out" &
  wrk_pid=$!
  sleep 5
  first=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  samples="$first"
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 10
    samples+=" $(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")"
  done
  last=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  echo "RSS kB every 10 s: $samples"
  awk -v a="$first" -v b="$last" 'BEGIN { printf "RSS growth after warm-up: %.1f%% (%d kB -> %d kB)\n", (b - a) * 100 / a, a, b }'
  grep Requests/sec "$work/soak.out"
  stop_server
fi
