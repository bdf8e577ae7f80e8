# Sourced by tools/test.sh, tools/figures.sh and tools/lab.sh: installs what is missing,
# or stops with the exact command to run. Exports DLC_PYTHON and JUPYTER_PATH.
# Safe to source repeatedly: each step is skipped when already done.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where the user started the command: npm runs scripts from the package root and passes
# that folder as INIT_CWD. Relative paths in the environment are read from there (step 2b).
START_DIR="${INIT_CWD:-$PWD}"
cd "$ROOT"

say() { echo "setup: $*" >&2; }
die() { echo "setup: $*" >&2; exit 1; }

# 1. Node >= 20.
command -v node >/dev/null || die "Node.js is missing. Install Node >= 20 (e.g. 'apt-get install nodejs npm' on Debian 13, or from nodejs.org), then re-run."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node $(node --version) is too old: install Node >= 20, then re-run."

# 2. npm packages, from the lockfile (re-run when package-lock.json changed).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund >&2 || die "npm ci failed (see above). Check the npm registry is reachable, then re-run."
fi

# 2b. Relative paths in MNIST_DIR, DLC_CHECKPOINT_DIR, ... made absolute against START_DIR,
#     so that tests, the main job and kernels (which run in notebooks/) all read the same folder.
eval "$(node_modules/.bin/tsx tools/env-paths.ts "$START_DIR")"

# 2c. The native addon (oneDNN, native/), built when missing or older than its sources. A
#     failed build is said in one line and is not an error: the wasm backend runs instead.
ADDON=native/build/Release/dlc7_native.node
if [ -z "${DLC_NATIVE_ADDON:-}" ] && { [ ! -f "$ADDON" ] ||
  [ -n "$(find native/src native/binding.gyp -newer "$ADDON" 2>/dev/null | head -1)" ]; }; then
  say "building the native addon (oneDNN; once, about 10 s)"
  # shellcheck source=tools/build-native.sh
  source tools/build-native.sh
  build_native || true
fi

# 3. From apt, what is missing of: Jupyter with nbclient/nbconvert (DLC_PYTHON, else python3
#    on PATH (conda), else Debian's), and DejaVu Sans, the font lib/viz measures and draws
#    the charts' text with (lib/viz/fonts.ts looks in the same folders).
has_jupyter() { "$1" -c 'import nbclient, nbformat, nbconvert, jupyter_client, ipykernel' 2>/dev/null; }
pick_python() {
  for p in "${DLC_PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3; do
    if [ -n "$p" ] && [ -x "$p" ] && has_jupyter "$p"; then echo "$p"; return 0; fi
  done
  return 1
}
has_dejavu() {
  local d
  for d in /usr/share/fonts/truetype/dejavu /usr/share/fonts/TTF /usr/share/fonts/dejavu; do
    if [ -f "$d/DejaVuSans.ttf" ] && [ -f "$d/DejaVuSans-Bold.ttf" ]; then return 0; fi
  done
  return 1
}
JUPYTER_PACKAGES="jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel"
FONT_PACKAGES="fonts-dejavu-core"
missing=""
DLC_PYTHON="$(pick_python)" || missing="$JUPYTER_PACKAGES"
has_dejavu || missing="${missing:+$missing }$FONT_PACKAGES"
# Without the font the charts are drawn with other fonts: said, but not a reason to stop.
no_font() { say "DejaVu Sans is missing: charts will be drawn with other fonts (text may not fit). $1"; }
if [ -n "$missing" ]; then
  SUDO="none"
  if command -v apt-get >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
  fi
  if [ "$SUDO" != none ]; then
    say "installing from apt: $missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # word splitting wanted: a list of packages
    $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq $missing >&2 \
      || die "apt-get install failed. Run: sudo apt-get update && sudo apt-get install -y $missing, then re-run."
    DLC_PYTHON="$(pick_python)" || die "Jupyter still not importable from /usr/bin/python3 after apt-get; check 'apt-get install $JUPYTER_PACKAGES'."
    has_dejavu || no_font "apt-get installed $FONT_PACKAGES, but DejaVuSans.ttf is not in /usr/share/fonts/truetype/dejavu."
  elif [ -z "$DLC_PYTHON" ]; then
    if command -v apt-get >/dev/null; then
      die "Jupyter is missing. Run: sudo apt-get update && sudo apt-get install -y $missing   (or: conda env create -f environment.yml && conda activate dlc-lecture7), then re-run."
    fi
    die "Jupyter is missing and apt-get is not available. Run: conda env create -f environment.yml && conda activate dlc-lecture7, then re-run."
  elif command -v apt-get >/dev/null; then
    no_font "Run: sudo apt-get install -y $FONT_PACKAGES"
  else
    no_font "Install DejaVu Sans (the dejavu fonts package of your system)."
  fi
fi
export DLC_PYTHON

# 4. The tslab TypeScript kernel (alone: not tslab's JavaScript one), registered in a
#    project-local Jupyter data folder (the user's Jupyter is untouched).
JUPYTER_DATA="$ROOT/build/jupyter/share/jupyter"
case ":${JUPYTER_PATH:-}:" in
  *":$JUPYTER_DATA:"*) ;;
  *) export JUPYTER_PATH="$JUPYTER_DATA${JUPYTER_PATH:+:$JUPYTER_PATH}" ;;
esac
KERNEL_JSON="$JUPYTER_DATA/kernels/tslab/kernel.json"
KERNEL_LAUNCHER="$ROOT/tools/tslab-kernel.cjs"
if [ ! -f "$KERNEL_JSON" ] || ! grep -q "\"$KERNEL_LAUNCHER\"" "$KERNEL_JSON" ||
  ! grep -q "\"$(node -p process.execPath)\"" "$KERNEL_JSON" || [ -e "$JUPYTER_DATA/kernels/jslab" ]; then
  node_modules/.bin/tsx tools/register-kernel.ts "$JUPYTER_DATA" "$KERNEL_LAUNCHER" \
    || die "tslab kernel registration failed (see above)."
fi

# 5. lib/ compiled to build/lib and linked as the package "dlc7" that notebooks import
#    (build-lib.ts stamps each build: it rewrites only the files that changed).
STAMP=build/lib.stamp
if [ ! -e node_modules/dlc7 ] || [ ! -f build/lib/package.json ] || [ ! -f "$STAMP" ] \
  || [ -n "$(find lib -name '*.ts' -newer "$STAMP" 2>/dev/null | head -1)" ]; then
  npx tsx tools/build-lib.ts >&2
fi
