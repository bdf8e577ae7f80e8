#!/usr/bin/env bash
# npm run lab: Jupyter with the project's TypeScript (tslab) kernel on a working copy of the
# lecture notebooks, build/lab/notebooks/ (made from notebooks/ when missing, never
# overwritten: tools/lab-copy.ts), so that autosave never writes outputs or scratch cells into
# the tracked notebooks/ that the main job runs.
#   npm run lab -- --fresh 7.4     your copy of 7.4 moved to build/lab/notebooks/old/, a new one
#   npm run lab -- --fresh all     the same for every notebook
#   npm run lab -- --lab-dir DIR   another working folder (DIR/notebooks, DIR/figures)
# Other options go to Jupyter. After editing lib/, run `npm run build` and restart the kernel.
# (No watch mode: tslab watches the files a kernel imported, and a kernel dies when several
# change under it.)
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
usage() { echo "lab: $*" >&2; exit 2; }
lab_dir="$ROOT/build/lab"
fresh=()
jupyter_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) [ $# -ge 2 ] || usage "--fresh needs 'all' or sections, e.g. --fresh 7.4"
      fresh=(--fresh "$2"); shift 2 ;;
    --fresh=*) fresh=(--fresh "${1#--fresh=}"); shift ;;
    --lab-dir) [ $# -ge 2 ] || usage "--lab-dir needs a folder"
      lab_dir="$(cd "$START_DIR" && mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    *) jupyter_args+=("$1"); shift ;;
  esac
done
case "${DLC_QUICK:-}" in
  1 | true) mode="quick mode (DLC_QUICK=1: small data, few epochs)" ;;
  "" | 0 | false) mode="full mode" ;;
  *) usage "DLC_QUICK=$DLC_QUICK: use 1 (quick mode) or 0" ;;
esac
work="$lab_dir/notebooks"
node_modules/.bin/tsx tools/lab-copy.ts "$ROOT/notebooks" "$work" "${fresh[@]}" || exit 1
# Figures saved from an interactive session go to their own folder, so that build/figures
# and its README stay those of the last main job (npm run figures).
export DLC_FIGURES_DIR="${DLC_FIGURES_DIR:-$lab_dir/figures}"
if "$DLC_PYTHON" -c 'import jupyterlab' 2>/dev/null; then app=lab; else app=notebook; fi
[ "$(id -u)" = 0 ] && jupyter_args+=(--allow-root) # Jupyter refuses root (containers) without it
echo "lab: opening Jupyter ($app) on your working copy ${work#"$ROOT/"}/ with the TypeScript kernel, in $mode; figures go to ${DLC_FIGURES_DIR#"$ROOT/"}/"
exec "$DLC_PYTHON" -m jupyter "$app" --notebook-dir="$work" \
  --MappingKernelManager.default_kernel_name=tslab "${jupyter_args[@]}"
