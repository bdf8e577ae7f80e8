#!/usr/bin/env bash
# npm run build:native: builds the native addon (native/: oneDNN behind Node-API) with
# node-gyp, installing its compilers and oneDNN from apt when it can (as root or with sudo).
# Exits 1 with one line saying what is missing and the command that fixes it; the project
# then runs on the wasm backend (lib/backend says so too). Sourced by tools/setup.sh.

build_native() {
  local root here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  root="${ROOT:-$here}"
  local say="echo build-native:"
  local packages="g++ make python3 libdnnl-dev"
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    $say "no native build for $(uname -s)-$(uname -m) (oneDNN from Debian's libdnnl-dev, x86-64 only); the wasm backend is used" >&2
    return 1
  fi
  local missing=""
  command -v g++ >/dev/null || missing="$missing g++"
  command -v make >/dev/null || missing="$missing make"
  command -v python3 >/dev/null || missing="$missing python3"
  [ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || missing="$missing libdnnl-dev"
  if [ -n "$missing" ]; then
    local sudo="none"
    if command -v apt-get >/dev/null; then
      if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
    fi
    if [ "$sudo" = none ]; then
      $say "missing:$missing. Run: sudo apt-get install -y $packages, then npm run build:native (until then the wasm backend is used)" >&2
      return 1
    fi
    $say "installing from apt:$missing" >&2
    # shellcheck disable=SC2086 # a list of packages
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages; } >&2; then
      $say "apt-get install failed. Run: sudo apt-get install -y $packages, then npm run build:native" >&2
      return 1
    fi
  fi
  # node-gyp: npm's own (npm names it to scripts, else it sits next to npm), with Node's
  # headers from where this node is installed (Debian: /usr/include/node): no download.
  local gyp="${npm_config_node_gyp:-}"
  if [ -z "$gyp" ]; then
    gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  fi
  local nodedir
  nodedir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
  if [ ! -f "$nodedir/include/node/node_api.h" ]; then
    $say "Node's headers are not in $nodedir/include/node (Debian: apt-get install -y libnode-dev); the wasm backend is used" >&2
    return 1
  fi
  local log
  log="$(mktemp)"
  if ! node "$gyp" rebuild -C "$root/native" --nodedir="$nodedir" >"$log" 2>&1; then
    $say "the build failed (its last lines below); the wasm backend is used" >&2
    tail -n 15 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  local addon="$root/native/build/Release/dlc7_native.node"
  if ! node -e 'const i = require(process.argv[1]).info(); console.error(`build-native: ${i.version}, ${i.isa}, ${i.threads} threads: ${process.argv[1]}`)' "$addon"; then
    $say "built, but the addon does not load; the wasm backend is used" >&2
    return 1
  fi
}

# Run as a command (npm run build:native), not sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  build_native
fi
