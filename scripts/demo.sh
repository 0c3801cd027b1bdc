#!/usr/bin/env bash
# The main job: installs what warmpool needs, builds it (Release), and runs
# `warmpool bench` — by default on the Markdown plugin embedded in the binary,
# pooled versus a fresh instance per call. Arguments go to `warmpool bench`.
#
#   scripts/demo.sh
#   scripts/demo.sh --threads 2 --duration 5 --policy fresh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# ccache hits across clones in other folders (CI builds a fresh clone).
export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=true
bash scripts/setup.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target warmpool >&2
exec build/release/src/cli/warmpool bench "$@"
