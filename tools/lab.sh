#!/usr/bin/env bash
# npm run lab: Jupyter on notebooks/ with the project's TypeScript (tslab) kernel, and
# lib/ recompiled on every save (restart the kernel to pick up a change).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
node node_modules/typescript/bin/tsc -p lib --watch --preserveWatchOutput >build/tsc-watch.log 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null' EXIT
if "$DLC_PYTHON" -c 'import jupyterlab' 2>/dev/null; then app=lab; else app=notebook; fi
echo "lab: opening Jupyter ($app) on notebooks/ with the TypeScript kernel; lib/ recompiles on save (log: build/tsc-watch.log)"
"$DLC_PYTHON" -m jupyter "$app" --notebook-dir="$ROOT/notebooks" \
  --MappingKernelManager.default_kernel_name=tslab "$@"
