#!/usr/bin/env bash
# warmpool against the official JS host (@extism/extism on Node) on the same
# Extism plugin (count_vowels, code.wasm), in one invocation, alternating the
# two so both see the same machine state; prints the ratios of issue 15's
# targets (docs/PERFORMANCE.md "Extism plugins").
#
#   bench/extism-peer.sh [BUILD_DIR]          # default build/release
#   ROUNDS=3 MIN_TIME=1 bench/extism-peer.sh
#
# The peer's folder (../shared/extism/node-peer, read-only) is copied into
# BUILD_DIR/extism-node-peer and `npm ci` installs its packages there once.
# The peer measures per-call wall time on its main thread and reports the
# median and the mean (its GC pauses land in the mean); warmpool's rows are
# Google Benchmark medians of repetitions of mean wall time per call (CPU
# time beside it). Ratios are given against both of the peer's figures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/release}
shared=${WARMPOOL_EXTISM_SHARED:-$repo/../shared/extism}
ROUNDS=${ROUNDS:-2}
MIN_TIME=${MIN_TIME:-0.5}
bench_bin=$build/bench/warmpool_extism_bench

[[ -d $shared/node-peer && -f $shared/plugins/code.wasm ]] ||
  { echo "extism-peer: $shared (node-peer/, plugins/code.wasm) is absent" >&2; exit 2; }
[[ -x $bench_bin ]] || { echo "extism-peer: build $bench_bin first" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "extism-peer: node and npm are needed (apt-get install nodejs npm)" >&2; exit 2; }

peer=$build/extism-node-peer   # shared with bench/serve-peers.sh
if [[ ! -d $peer/node_modules/@extism/extism ]]; then
  rm -rf "$peer" && mkdir -p "$peer"
  cp "$shared/node-peer/package.json" "$shared/node-peer/package-lock.json" "$peer/"
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp "$shared/node-peer/bench.mjs" "$peer/"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS: node peer" >&2
  (cd "$peer" && PLUGINS=$shared/plugins node bench.mjs) > "$out/node-$round.json"
  echo "round $round/$ROUNDS: warmpool" >&2
  WARMPOOL_EXTISM_PLUGINS=$shared/plugins "$bench_bin" --benchmark_min_time="$MIN_TIME" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/warmpool-$round.json" --benchmark_out_format=json >/dev/null
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def medians(path):
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
            rows[b["run_name"]] = (b["real_time"] * scale, b["cpu_time"] * scale,
                                   b.get("items_per_second"))
    return rows

print("| round | engine | row | warmpool µs (CPU µs) | JS host µs: median (mean) | JS / warmpool: by median (by mean) | target |")
print("|---|---|---|---|---|---|---|")
for r in range(1, rounds + 1):
    node = json.load(open(f"{out}/node-{r}.json"))
    wp = medians(f"{out}/warmpool-{r}.json")
    for engine in ("v8", "wabt"):
        rows = [
            ("16 B call", f"{engine}/code_16B_call/real_time/threads:1", node["call_16B"], "≥ 5x" if engine == "v8" else "recorded"),
            ("16 B call, one checkout held", f"{engine}/code_16B_held", node["call_16B"], "recorded"),
            ("16 B call, held and bound (checkout_bound)", f"{engine}/code_16B_bound", node["call_16B"], "recorded"),
            ("16 B call, checkout_bound per call", f"{engine}/code_16B_bound_each", node["call_16B"], "recorded"),
            ("4 KiB call", f"{engine}/code_4KiB_call", node["call_4KiB"], "≥ 3x" if engine == "v8" else "recorded"),
            ("4 KiB call, one checkout held", f"{engine}/code_4KiB_held", node["call_4KiB"], "recorded"),
            ("4 KiB call, held and bound (checkout_bound)", f"{engine}/code_4KiB_bound", node["call_4KiB"], "recorded"),
            ("new instance (compiled)", f"{engine}/new_instance", node["createPlugin_from_compiled_module"], "≥ 1x" if engine == "v8" else "recorded"),
            ("new instance, destruction timed", f"{engine}/new_instance_and_destroy", node["createPlugin_from_compiled_module"], "recorded"),
        ]
        for label, key, peer, target in rows:
            if key not in wp:
                continue
            real, cpu, _ = wp[key]
            median, mean = peer["median_us"], peer["mean_us"]
            print(f"| {r} | {engine} | {label} | {real:.2f} ({cpu:.2f}) | {median:.2f} ({mean:.2f}) | {median / real:.2f}x ({mean / real:.2f}x) | {target} |")
        one = wp.get(f"{engine}/code_16B_call/real_time/threads:1")
        two = wp.get(f"{engine}/code_16B_call/real_time/threads:2")
        if one and two and one[2] and two[2]:
            print(f"| {r} | {engine} | 2 threads / 1 thread (calls/s) | {two[2]:.0f}/s vs {one[2]:.0f}/s | | {two[2] / one[2]:.2f}x | {'≥ 1.7x' if engine == 'v8' else 'recorded'} |")
        calls = {k.split("/")[-1]: v for k, v in wp.items() if k.startswith(f"{engine}/kernel_call/")}
        if calls:
            # One plugin call makes 1,000 import calls: its CPU µs are CPU ns per import call.
            per_call = ", ".join(f"{name} {cpu:.1f}" for name, (_, cpu, _) in calls.items())
            print(f"| {r} | {engine} | CPU ns per host call (1,000 per plugin call) | {per_call} | | | |")
        bound_none = wp.get(f"{engine}/kernel_call_bound/none")
        if bound_none and "none" in calls:
            print(f"| {r} | {engine} | plugin call of the 1,000-iteration loop, CPU µs: unbound, bound | {calls['none'][1]:.3f}, {bound_none[1]:.3f} | | | |")
    print(f"| {r} | | JS host: {node['sdk']}, Node {node['node']} (V8 {node['v8']}) | | | | |")
PY
