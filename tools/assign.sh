#!/usr/bin/env bash
# npm run assign: student versions and autograders from the master notebooks in
# assignments/ (tools/assign.ts), after installing what is missing (tools/setup.sh).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec npx tsx tools/assign.ts "$@"
