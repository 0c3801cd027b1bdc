#!/usr/bin/env bash
# The main job: installs what warmpool needs, builds it (Release), and runs
# `warmpool bench` on the Markdown plugin embedded in the binary: through the
# pool versus a fresh instance per call, on the wabt interpreter and then on
# V8 (where an instance costs an isolate, and pooling pays most).
# With arguments, runs `warmpool bench` once with them instead.
#
#   scripts/demo.sh
#   scripts/demo.sh --engine v8 --threads 2 --duration 5 --policy fresh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# ccache hits across clones in other folders (CI builds a fresh clone).
export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=true
bash scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target warmpool >&2
warmpool=build/release/src/cli/warmpool
if (($#)); then
  exec "$warmpool" bench "$@"
fi
"$warmpool" bench --engine wabt --duration 3
echo
if "$warmpool" run --help | grep -q 'wabt|v8'; then
  "$warmpool" bench --engine v8 --duration 3
fi
