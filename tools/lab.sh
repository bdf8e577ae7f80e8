#!/usr/bin/env bash
# npm run lab: Jupyter on notebooks/ with the project's TypeScript (tslab) kernel.
# After editing lib/, run `npm run build` and restart the kernel. (No watch mode: tslab
# watches the files a kernel imported, and a kernel dies when several change under it.)
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# Figures saved from an interactive session go to their own folder, so that build/figures
# and its README stay those of the last main job (npm run figures).
export DLC_FIGURES_DIR="${DLC_FIGURES_DIR:-$ROOT/build/lab/figures}"
if "$DLC_PYTHON" -c 'import jupyterlab' 2>/dev/null; then app=lab; else app=notebook; fi
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root) # Jupyter refuses root (containers) without it
echo "lab: opening Jupyter ($app) on notebooks/ with the TypeScript kernel; figures go to ${DLC_FIGURES_DIR#"$ROOT/"}/"
exec "$DLC_PYTHON" -m jupyter "$app" --notebook-dir="$ROOT/notebooks" \
  --MappingKernelManager.default_kernel_name=tslab "${extra[@]}" "$@"
