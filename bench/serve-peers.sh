#!/usr/bin/env bash
# `warmpool serve` against Node 20 peers under wrk, in one invocation on the
# same plugins and inputs (issue 16's benchmark; docs/PERFORMANCE.md "Server
# against Node"). Each row starts one server, runs wrk at each connection count
# and stops it; requests/s and p99 per row.
#
#   bench/serve-peers.sh [BUILD_DIR]                  # default build/release
#   DURATION=10 CONNECTIONS="1 16 64 256" ENGINE=v8 bench/serve-peers.sh
#   ROWS="markdown echo count_vowels healthz reload" bench/serve-peers.sh
#   SERVE_ARGS="--inline-calls" bench/serve-peers.sh    # extra `warmpool serve` options
#
# Peers: bench/serve-peers/bytes_abi_server.mjs (one reused instance per
# process, 1 and 2 processes) for the bytes-ABI plugins, and
# bench/serve-peers/extism_server.mjs (@extism/extism, the official JS host)
# for count_vowels (../shared/extism/plugins/code.wasm). The reload row runs
# warmpool from a config file with an admin listener and POSTs /admin/reload
# every second during the run, against the same run without reloads.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build/release}" && pwd)  # absolute: node resolves the peer from it
warmpool=$build/src/cli/warmpool
plugins=$build/plugins
shared=${WARMPOOL_EXTISM_SHARED:-$repo/../shared/extism}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-"1 16 64 256"}
ROWS=${ROWS:-"markdown echo count_vowels healthz reload"}
ENGINE=${ENGINE:-v8}
SERVE_ARGS=${SERVE_ARGS:-}
PORT=${PORT:-18520}
ADMIN_PORT=$((PORT + 1))
WRK_THREADS=${WRK_THREADS:-1}
peers=$repo/bench/serve-peers

command -v node >/dev/null || { echo "serve-peers: node not found (apt-get install nodejs)" >&2; exit 2; }
[[ -x $warmpool ]] || { echo "serve-peers: no warmpool binary at $warmpool" >&2; exit 2; }
# shellcheck source=SCRIPTDIR/../scripts/lib/serve_bench.sh
source "$repo/scripts/lib/serve_bench.sh"
serve_bench_setup serve-peers

# The official JS host, installed once into the build tree (../shared is read-only).
extism_peer=$build/extism-node-peer
install_extism_peer() {
  [[ -d $extism_peer/node_modules/@extism/extism ]] && return
  rm -rf "$extism_peer" && mkdir -p "$extism_peer"
  cp "$shared/node-peer/package.json" "$shared/node-peer/package-lock.json" "$extism_peer/"
  (cd "$extism_peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# wrk at each connection count: prints "rps p99_ms non2xx" per count.
load() {  # url script(or "") label
  local url=$1 script=$2 label=$3 c
  for c in $CONNECTIONS; do
    run_wrk -t"$((c < WRK_THREADS ? c : WRK_THREADS))" -c"$c" -d"${DURATION}s" \
      ${script:+-s "$script"} "$url"
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$c" "$wrk_rps" "$wrk_p99_ms" "$wrk_non2xx"
  done
}

printf 'hello, warmpool\n' > "$work/echo.body"
cp "$repo/plugins/testdata/markdown/document.md" "$work/markdown.body"
printf 'The quick brown fox jumps over the lazy dog. Hello!!' > "$work/count_vowels.body"

echo "serve-peers: $(date -u +%FT%TZ), $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2}'), node $(node --version), wrk $(wrk --version 2>&1 | awk 'NR==1 {print $2}'), warmpool engine $ENGINE, ${DURATION}s per cell" >&2
echo "| server | connections | requests/s | p99 ms | non-2xx |"
echo "|---|---|---|---|---|"

bytes_row() {  # plugin export
  local plugin=$1 export=$2 script
  script=$(post_script "$work/$plugin.body")
  start_server "$PORT" "$warmpool" serve "$plugins/$plugin.wasm" --listen "127.0.0.1:$PORT" \
    --engine "$ENGINE" $SERVE_ARGS
  load "http://127.0.0.1:$PORT/call/$export" "$script" "warmpool $ENGINE $plugin"
  stop_server
  for workers in 1 2; do
    start_server "$PORT" env WORKERS=$workers node "$peers/bytes_abi_server.mjs" \
      "$plugins/$plugin.wasm" "$PORT"
    load "http://127.0.0.1:$PORT/call/$export" "$script" "node x$workers $plugin"
    stop_server
  done
}

for row in $ROWS; do
  case $row in
    markdown) bytes_row markdown render ;;
    echo) bytes_row echo echo ;;
    healthz)
      start_server "$PORT" "$warmpool" serve "$plugins/echo.wasm" --listen "127.0.0.1:$PORT" \
        --engine "$ENGINE" $SERVE_ARGS
      load "http://127.0.0.1:$PORT/healthz" "" "warmpool GET /healthz"
      stop_server ;;
    count_vowels)
      [[ -f $shared/plugins/code.wasm ]] || { echo "serve-peers: $shared/plugins/code.wasm absent: count_vowels skipped" >&2; continue; }
      install_extism_peer
      script=$(post_script "$work/count_vowels.body")
      start_server "$PORT" "$warmpool" serve "$shared/plugins/code.wasm" \
        --listen "127.0.0.1:$PORT" --engine "$ENGINE" $SERVE_ARGS
      load "http://127.0.0.1:$PORT/call/count_vowels" "$script" "warmpool $ENGINE count_vowels"
      stop_server
      for workers in 1 2; do
        start_server "$PORT" env EXTISM_PEER_DIR="$extism_peer" WORKERS=$workers \
          node "$peers/extism_server.mjs" "$shared/plugins/code.wasm" "$PORT"
        load "http://127.0.0.1:$PORT/call/count_vowels" "$script" "node+extism x$workers count_vowels"
        stop_server
      done ;;
    reload)
      if [[ $("$warmpool" serve --help 2>&1) != *--admin-listen* ]]; then
        echo "serve-peers: this warmpool has no admin listener: reload row skipped" >&2
        continue
      fi
      script=$(post_script "$work/markdown.body")
      # Each reload changes a setting (the wait bound, 1000 or 1001 ms), so every reload builds
      # and warms a new version of the plugin and switches traffic to it.
      write_config() {  # acquire_timeout_ms
        cat > "$work/serve.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"

[[plugin]]
name = "markdown"
source = "$plugins/markdown.wasm"
engine = "$ENGINE"
[plugin.pool]
acquire_timeout_ms = $1
TOML
      }
      write_config 1000
      start_server "$PORT" "$warmpool" serve --config "$work/serve.toml"
      load "http://127.0.0.1:$PORT/plugins/markdown/render" "$script" "warmpool $ENGINE markdown, config, no reload"
      ( n=0
        while kill -0 "$server_pid" 2>/dev/null; do
          n=$((n + 1)) && write_config $((1000 + n % 2))
          curl -s -o /dev/null -X POST "http://127.0.0.1:$ADMIN_PORT/admin/reload" || true
          sleep 1
        done ) &
      reloader=$!
      load "http://127.0.0.1:$PORT/plugins/markdown/render" "$script" "warmpool $ENGINE markdown, config, reload every second"
      kill "$reloader" 2>/dev/null || true
      echo "serve-peers: reloads during the run: $(curl -s "http://127.0.0.1:$PORT/metrics" |
        awk '/^warmpool_reloads_total/ {printf "%s ", $0}')" >&2
      stop_server ;;
    *) echo "serve-peers: unknown row $row" >&2; exit 2 ;;
  esac
done
