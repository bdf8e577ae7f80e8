/**
 * Every cell run twice in one kernel leaves tf.memory() where its first run left it: the
 * notebook context frees what a re-run replaces (models, kept tensors) and what a cell made
 * without keeping it. Run by `npm test` after the notebooks (their checkpoints make it quick):
 *
 *   npx tsx test/check-reruns.ts notebooks/7.2-deep-autoencoders.ipynb ...
 *
 * Prints one line per notebook and exits 1 when a cell's second run leaves more tensors.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

interface CellResult {
  label: string;
  status: string;
  stdout: string;
  stderr: string;
}

const PROBE =
  'console.log("TENSORS " + JSON.stringify(require("@tensorflow/tfjs").memory().numTensors));';

function check(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: { cell_type: string }[] };
  const code = nb.cells.flatMap((c, i) => (c.cell_type === "code" ? [i] : []));
  const steps = code.flatMap((i) => [
    { notebook: path.resolve(file), cells: [i], timeout: 1800 },
    { code: PROBE },
    { notebook: path.resolve(file), cells: [i], timeout: 1800 },
    { code: PROBE },
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-reruns-"));
  try {
    const stepsFile = path.join(dir, "steps.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(stepsFile, JSON.stringify({ cwd: path.dirname(path.resolve(file)), steps }));
    const python = process.env.DLC_PYTHON || "/usr/bin/python3";
    const driver = path.join(__dirname, "kernel_session.py");
    const run = spawnSync(python, [driver, stepsFile, resultFile], { stdio: "inherit" });
    if (run.status !== 0) return [`the kernel session failed (exit ${run.status})`];
    const results = JSON.parse(fs.readFileSync(resultFile, "utf8")) as CellResult[];
    const problems: string[] = [];
    for (let k = 0; k < code.length; k++) {
      const [first, probe1, second, probe2] = results.slice(4 * k, 4 * k + 4);
      const cell = `cell ${code[k]}`;
      const failed = [first, second].find((r) => r?.status !== "ok");
      if (failed !== undefined) {
        problems.push(`${cell}: ${failed.status} ${failed.stderr.split("\n")[0] ?? ""}`);
        break;
      }
      const count = (r: CellResult | undefined) =>
        Number(/TENSORS (\d+)/.exec(r?.stdout ?? "")?.[1]);
      const [a, b] = [count(probe1), count(probe2)];
      if (!(b <= a))
        problems.push(`${cell}: ${a} tensors after its first run, ${b} after its second`);
    }
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const problems = check(file);
  const name = path.basename(file);
  if (problems.length === 0) console.log(`${name}: every cell run twice, tf.memory() flat`);
  for (const p of problems) console.log(`${name}: ${p}`);
  failed ||= problems.length > 0;
}
process.exit(failed ? 1 : 0);
