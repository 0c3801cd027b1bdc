# shellcheck shell=bash
# One HTTP server at a time under wrk on loopback: the part bench/serve-peers.sh and
# scripts/serve-compare.sh share. Source it from a bash script with `set -euo pipefail`.
#
#   source "$repo/scripts/lib/serve_bench.sh"
#   serve_bench_setup serve-peers              # $work (removed on exit), messages prefixed
#   start_server "$port" warmpool serve ...    # returns once the port answers HTTP
#   run_wrk -t1 -c16 -d8s -s "$(post_script "$work/body")" "http://127.0.0.1:$port/call/echo"
#   echo "$wrk_rps requests/s, p99 $wrk_p99_ms ms"
#   stop_server
#
# The server's output goes to $work/server.log; $server_pid is its process while it runs.

# `name` prefixes messages; also checks that wrk is installed.
serve_bench_setup() {  # name
  serve_bench_name=$1
  command -v wrk >/dev/null || {
    echo "$serve_bench_name: wrk not found (apt-get install wrk)" >&2
    exit 2
  }
  work=$(mktemp -d)
  server_pid=
  trap 'stop_server; rm -rf "$work"' EXIT
}

stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}

# Any HTTP answer counts (a peer answers GET / with 404); a server that exits, or 60 s
# without an answer, is an error.
wait_listening() {  # port
  for _ in $(seq 600); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || {
      echo "$serve_bench_name: the server exited:" >&2
      tail -5 "$work/server.log" >&2
      return 1
    }
    sleep 0.1
  done
  echo "$serve_bench_name: nothing listens on port $1 after 60 s" >&2
  return 1
}

start_server() {  # port command...
  local port=$1
  shift
  "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_listening "$port"
}

# Prints the path of a wrk script that POSTs the bytes of `file`.
post_script() {  # file
  local script
  script=$(mktemp "$work/post.XXXXXX.lua")
  cat >"$script" <<LUA
local f = assert(io.open("$1", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
LUA
  echo "$script"
}

# wrk --latency with the given arguments; sets wrk_requests, wrk_rps, wrk_p99_ms, wrk_non2xx
# and wrk_timeouts from its report (0 where it reports none).
# shellcheck disable=SC2034  # the results are the caller's
run_wrk() {  # wrk arguments...
  local out
  out=$(wrk --latency "$@" 2>&1)
  wrk_requests=$(awk '/requests in/ {print $1}' <<<"$out")
  wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  wrk_p99_ms=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  wrk_non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  wrk_non2xx=${wrk_non2xx:-0}
  wrk_timeouts=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' <<<"$out")
  wrk_timeouts=${wrk_timeouts:-0}
  if [[ -z $wrk_rps ]]; then
    echo "$serve_bench_name: wrk reported no rate:" >&2
    echo "$out" >&2
    return 1
  fi
}
