#!/usr/bin/env bash
# Installs everything warmpool needs from Debian's packages. Idempotent: a
# second run installs nothing and takes a second or two.
#
# V8 comes from Debian's libnode108/libnode-dev. Where a Node.js from another
# repository is installed, apt refuses those two packages, so they are fetched
# with `apt-get download` and unpacked into .deps/libnode (which CMake searches
# by default); their runtime dependencies are installed normally.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32
  clang-19 libclang-rt-19-dev
  wabt
  libboost-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  libuv1-dev libssl-dev libbrotli1 libc-ares2 libicu72 libnghttp2-14 libuv1 zlib1g zlib1g-dev
  wrk curl chromium clang-format
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# V8 via libnode, unpacked locally.
prefix="$repo/.deps/libnode"
if [ ! -f "$prefix/usr/include/node/v8.h" ] || ! ls "$prefix"/usr/lib/x86_64-linux-gnu/libnode.so.* >/dev/null 2>&1; then
  echo "setup: unpacking libnode108 + libnode-dev into $prefix"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null)
  mkdir -p "$prefix"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
  rm -rf "$tmp"
fi
lib="$prefix/usr/lib/x86_64-linux-gnu"
if [ ! -e "$lib/libnode.so" ]; then
  so=$(ls "$lib"/libnode.so.* | head -n1)
  ln -sf "$(basename "$so")" "$lib/libnode.so"
fi
echo "setup: ok"
