#!/usr/bin/env bash
# The main job (npm run figures): every notebook executed, every figure regenerated
# into build/figures/ (see tools/run-notebooks.ts for the options: --quick, --only 7.1).
# npm runs this through `sh -c "exec bash ..."` and each step execs the next, so that a
# SIGTERM sent to npm reaches the main job, which stops its kernels (sh would not pass it on).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec node_modules/.bin/tsx tools/run-notebooks.ts "$@"
