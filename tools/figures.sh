#!/usr/bin/env bash
# The main job (npm run figures): every notebook executed, every figure regenerated
# into build/figures/ (see tools/run-notebooks.ts for the options: --quick, --only 7.1).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec npx tsx tools/run-notebooks.ts "$@"
