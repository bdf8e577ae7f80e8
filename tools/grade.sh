#!/usr/bin/env bash
# npm run grade -- FOLDER: grades a folder of submitted notebooks (tools/grade.ts), after
# installing what is missing (tools/setup.sh).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec npx tsx tools/grade.ts "$@"
