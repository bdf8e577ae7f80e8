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

# The main job as a child that a SIGTERM of this script also stops (with its kernels).
job=""
trap 'if [ -n "$job" ]; then kill -TERM "$job" 2>/dev/null; wait "$job"; fi; exit 143' TERM
main_job() {
  node_modules/.bin/tsx tools/run-notebooks.ts "$@" &
  job=$!
  wait "$job"
  local rc=$?
  job=""
  return "$rc"
}

# Its own output folder, so that it never touches build/figures or a concurrent run's outputs.
run_dir="$(mktemp -d "$ROOT/build/test-run.XXXXXX")"
echo "== notebooks, headless, quick mode (the main job into ${run_dir#"$ROOT/"}/a)"
main_job --quick --out "$run_dir/a"
count() { # status filter (ok|bad), summary file
  node -e 'const r = require(process.argv[2]).notebooks; console.log(r.filter((x) => (process.argv[1] === "ok") === x.ok).length)' "$1" "$2" 2>/dev/null || echo "$3"
}
nb_ok=$(count ok "$run_dir/a/run-summary.json" 0)
nb_bad=$(count bad "$run_dir/a/run-summary.json" 1)
passed=$((passed + nb_ok)); failed=$((failed + nb_bad))
[ "$nb_bad" -gt 0 ] && failures+=("$nb_bad notebook(s)")
# Quick mode still teaches: on MNIST a claim its small trainings cannot decide says "not checked
# in quick mode" (nb.claimAtFullScale); none may come out "not confirmed".
check "quick mode: no claim 'not confirmed' on MNIST" node -e '
  const bad = require(process.argv[1]).notebooks.filter((x) => x.claims && x.claims.notConfirmed > 0);
  for (const x of bad) console.error(`${x.notebook}: ${x.claims.notConfirmed} claim(s) not confirmed in quick mode`);
  process.exit(bad.length > 0 ? 1 : 0);' "$run_dir/a/run-summary.json"

# The data set is the notebooks' one parameter: 7.2-7.4 again on Fashion-MNIST, whose labels are
# clothes, not digits (Debian's dataset-fashion-mnist; .ci/run installs it).
if [ -n "${FASHION_MNIST_DIR:-}" ] || [ -d /usr/share/datasets/fashion-mnist ] ||
  [ -d "$ROOT/data/cache/fashion-mnist" ]; then
  echo "== notebooks on Fashion-MNIST, quick mode (into ${run_dir#"$ROOT/"}/fashion)"
  DLC_DATASET=fashion-mnist main_job --quick --only 7.2,7.3,7.4 --out "$run_dir/fashion"
  nb_ok=$(count ok "$run_dir/fashion/run-summary.json" 0)
  nb_bad=$(count bad "$run_dir/fashion/run-summary.json" 1)
  passed=$((passed + nb_ok)); failed=$((failed + nb_bad))
  [ "$nb_bad" -gt 0 ] && failures+=("$nb_bad notebook(s) on Fashion-MNIST")
else
  echo "== notebooks on Fashion-MNIST: skipped, its files are missing (apt-get install dataset-fashion-mnist)"
fi

# Every cell of 7.2-7.4 run twice in one kernel (their checkpoints are there now): tf.memory()
# must not grow. Figures go to the run's folder, not build/figures.
check "every cell run twice leaves tf.memory() flat (7.2-7.4)" env DLC_QUICK=1 \
  DLC_FIGURES_DIR="$run_dir/reruns" node_modules/.bin/tsx test/check-reruns.ts \
  notebooks/7.2-deep-autoencoders.ipynb notebooks/7.3-denoising-autoencoders.ipynb \
  notebooks/7.4-variational-autoencoders.ipynb

echo "== reproducibility: 7.1 run twice, byte-identical figures"
main_job --quick --only 7.1 --out "$run_dir/b" >/dev/null
check "figures byte-identical across runs" npx tsx tools/check-reproducible.ts "$run_dir/a/figures" "$run_dir/b/figures"
if [ "$failed" -eq 0 ]; then rm -rf "$run_dir"; else echo "the notebook runs' outputs are kept in ${run_dir#"$ROOT/"}/"; fi

echo
[ "${#failures[@]}" -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
