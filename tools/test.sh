#!/usr/bin/env bash
# The test command (npm test): type check, format check, clean notebooks, the mocha
# unit tests of lib/, every notebook executed headless in quick mode through the main
# job, and a reproducibility check. Ends with one line: "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
set +e

passed=0
failed=0
failures=()
check() { # name, command...
  local name="$1"; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

check "typecheck (tsc --noEmit, strict)" node node_modules/typescript/bin/tsc -p . --noEmit
check "format (prettier --check)" npx prettier --check --log-level warn .
check "notebooks committed without outputs" npx tsx tools/notebooks-clean.ts --check

echo "== unit tests (mocha)"
log="$(mktemp)"
npx mocha --reporter spec 2>&1 | tee "$log"
mocha_rc=${PIPESTATUS[0]}
n_pass=$(grep -Eo '^ +[0-9]+ passing' "$log" | grep -Eo '[0-9]+' || echo 0)
n_fail=$(grep -Eo '^ +[0-9]+ failing' "$log" | grep -Eo '[0-9]+' || echo 0)
if [ "$mocha_rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then n_fail=1; failures+=("mocha exited $mocha_rc"); fi
[ "$n_fail" -gt 0 ] && failures+=("$n_fail unit test(s)")
passed=$((passed + n_pass)); failed=$((failed + n_fail))
rm -f "$log"

echo "== notebooks, headless, quick mode (the main job into build/test-run/a)"
rm -rf build/test-run
npx tsx tools/run-notebooks.ts --quick --out build/test-run/a
nb_ok=$(node -e 'const r=require("./build/test-run/a/run-summary.json"); console.log(r.filter(x=>x.ok).length)' 2>/dev/null || echo 0)
nb_bad=$(node -e 'const r=require("./build/test-run/a/run-summary.json"); console.log(r.filter(x=>!x.ok).length)' 2>/dev/null || echo 1)
passed=$((passed + nb_ok)); failed=$((failed + nb_bad))
[ "$nb_bad" -gt 0 ] && failures+=("$nb_bad notebook(s)")

echo "== reproducibility: 7.1 run twice, byte-identical figures"
npx tsx tools/run-notebooks.ts --quick --only 7.1 --out build/test-run/b >/dev/null
check "figures byte-identical across runs" npx tsx tools/check-reproducible.ts build/test-run/a/figures build/test-run/b/figures

echo
[ "${#failures[@]}" -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
