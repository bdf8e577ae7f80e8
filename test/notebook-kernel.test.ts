/**
 * The notebooks as a student uses them, at the message level: a tslab kernel driven through
 * jupyter_client (test/kernel_session.py) as the Notebook front end drives it, in a working
 * copy of the notebooks under build/ as `npm run lab` makes. Interrupt stops a training
 * within a step and saves nothing, and synchronous analysis within a second, stopping Run
 * All; the kernel stays busy through Run All; cells re-run after Run All; errors print the
 * library's message first, frames the cell's own lines, and name the variable and cell of a
 * freed tensor.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { prepareWorkingCopy } from "../tools/lab-copy";

const root = path.resolve(__dirname, "..");
const python = process.env.DLC_PYTHON ?? "/usr/bin/python3";
const jupyterData = path.join(root, "build", "jupyter", "share", "jupyter");
const notebooks = path.join(root, "notebooks");

interface CellResult {
  label: string;
  status: "ok" | "error" | "abort" | "timeout" | "kernel died";
  stdout: string;
  stderr: string;
  /** The last text/plain of each display (progress bars, figures, tables). */
  displays: Record<string, string>;
  seconds: number;
  /** Messages of the cell that came after it went idle. */
  late: { type: string; content: unknown }[];
  /** Its status messages: [n, state, t], n counting the session's, t seconds into it. */
  statuses: [number, "busy" | "idle", number][];
  /** Seconds into the session when its reply came. */
  replied_at: number | null;
  /** Seconds after the cell was sent when the kernel was interrupted during it, or null. */
  interrupted_at: number | null;
}

type Step =
  | { code: string; label?: string; interrupt_after?: number; timeout?: number }
  | { notebook: string; cells: number[] | "all"; timeout?: number }
  | {
      run_all: { code: string; label?: string }[];
      interrupt_when?: string;
      interrupt_delay?: number;
      interrupt_after?: number;
      timeout?: number;
    }
  | { sleep: number };

const canRunKernels = (): boolean =>
  fs.existsSync(path.join(jupyterData, "kernels", "tslab", "kernel.json")) &&
  fs.existsSync(path.join(root, "build", "lib", "notebook.js")) &&
  spawnSync(python, ["-c", "import jupyter_client, nbformat"]).status === 0;

/** The working copy the kernels run in, as `npm run lab` makes it (build/lab/notebooks). */
let workingCopy = notebooks;

/** Runs the steps in one kernel (cwd: the working copy); returns each cell's record. */
function session(steps: Step[], env: Record<string, string>): CellResult[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-kernel-"));
  try {
    const spec = path.join(dir, "steps.json");
    const out = path.join(dir, "result.json");
    fs.writeFileSync(spec, JSON.stringify({ cwd: workingCopy, steps }));
    const r = spawnSync(python, [path.join(__dirname, "kernel_session.py"), spec, out], {
      env: { ...process.env, JUPYTER_PATH: jupyterData, DLC_QUICK: "1", ...env },
      encoding: "utf8",
      timeout: 1_500_000,
    });
    assert.equal(r.status, 0, `kernel_session.py failed:\n${r.stderr}`);
    return JSON.parse(fs.readFileSync(out, "utf8")) as CellResult[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The session's cell records under the names given, in order; fails on another count. */
function named<const N extends readonly string[]>(
  results: CellResult[],
  names: N,
): Record<N[number], CellResult> {
  assert.equal(results.length, names.length, `records for ${names.join(", ")}`);
  return Object.fromEntries(names.map((name, i) => [name, results[i]])) as Record<
    N[number],
    CellResult
  >;
}

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String);
}

const show = (r: CellResult): string =>
  `${r.label}: ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n` +
  `displays: ${JSON.stringify(r.displays)}`;

// A tiny model on random points: thousands of fast steps, so an interrupt lands mid-training.
const SETUP = `import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { notebook } from "dlc7/notebook";
import * as nn from "dlc7/nn";
import { halfSumSquaredError, type LossFn } from "dlc7/training";
import { configured } from "dlc7/training/key";
const nb = await notebook("7.2");
const points = { name: "points", inputs: tf.randomNormal([20000, 16], 0, 1, "float32", 1) };
const tiny = (seed: number) =>
  Object.assign(
    new nn.Sequential(new nn.Linear(16, 64, { rng: nb.rng(\`tiny-\${seed}\`) }), new nn.ReLU(),
      new nn.Linear(64, 16, { rng: nb.rng(\`tiny-\${seed}-2\`) })),
    { config: { kind: "tiny", seed } },
  );
const lossFn: LossFn<ReturnType<typeof tiny>> = (m, x, t) => ({ loss: halfSumSquaredError(m.forward(x), t) });
const loss = configured(lossFn, { loss: "half-sum-squared" });
const spec = { model: tiny, loss, train: points, epochs: 500, batchSize: 10 };
const tensorsBefore = tf.memory().numTensors;`;

describe("notebooks in a live kernel (jupyter_client)", function () {
  this.timeout(1_800_000);
  let checkpoints: string;
  let figures: string;

  let lab: string;
  before(function () {
    if (!canRunKernels()) {
      console.log(
        "      (skipped: needs Jupyter, the tslab kernel and build/lib; npm test's setup makes them)",
      );
      this.skip();
    }
    // As deep under the project as build/lab/notebooks: imports of dlc7 resolve from there.
    lab = fs.mkdtempSync(path.join(root, "build", "test-lab-"));
    workingCopy = path.join(lab, "notebooks");
    prepareWorkingCopy(notebooks, workingCopy);
  });
  after(() => {
    if (lab !== undefined) fs.rmSync(lab, { recursive: true, force: true });
    workingCopy = notebooks;
  });
  beforeEach(() => {
    checkpoints = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-ckpt-"));
    figures = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-fig-"));
  });
  afterEach(() => {
    fs.rmSync(checkpoints, { recursive: true, force: true });
    fs.rmSync(figures, { recursive: true, force: true });
  });

  it("Interrupt stops a training within a step, frees it, saves nothing, and the kernel goes on", () => {
    const env = {
      DLC_CHECKPOINT_DIR: checkpoints,
      DLC_FIGURES_DIR: figures,
      MNIST_DIR: process.env.MNIST_DIR ?? "",
    };
    const { setup, training, after, continuation, alive, short } = named(
      session(
        [
          { code: SETUP, label: "setup" },
          {
            code: `const a = await nb.trainOrLoad({ ...spec, name: "tiny" });`,
            label: "training",
            interrupt_after: 6,
          },
          // tslab aborts what is queued in the 200 ms after an error (Run All stops there).
          { sleep: 1 },
          {
            code: `console.log(JSON.stringify({ left: tf.memory().numTensors - tensorsBefore }));`,
            label: "after",
          },
          // An interrupt outside any training ends the cell at once (tslab); the rest of the
          // cell, still running, must not start a training in the background.
          {
            code:
              `await new Promise((r) => setTimeout(r, 3000));\n` +
              `const b = await nb.trainOrLoad({ ...spec, name: "tiny-b" });`,
            label: "continuation",
            interrupt_after: 1,
          },
          { sleep: 6 },
          { code: `console.log("alive", 1 + 1);`, label: "alive" },
          // A later cell trains normally, and saves.
          {
            code: `const c = await nb.trainOrLoad({ ...spec, name: "tiny-c", maxSteps: 50 });`,
            label: "short",
          },
        ],
        env,
      ),
      ["setup", "training", "after", "continuation", "alive", "short"],
    );
    assert.equal(setup.status, "ok", show(setup));

    assert.equal(training.status, "error", show(training));
    const bars = Object.values(training.displays);
    assert.equal(bars.length, 1, show(training));
    const bar = bars[0] as string;
    // The epoch depends on the machine's speed (a fast one ends several in 6 s).
    assert.match(bar, /interrupted at epoch \d+, step \d+; nothing saved$/, bar);
    assert.ok(bar.length <= 100, `progress line of ${bar.length} characters: ${bar}`);
    assert.equal(training.stderr.trim(), "Interrupted", show(training));
    assert.match(training.stdout, /checkpoint tiny-[0-9a-f]+: none yet, training/);
    assert.doesNotMatch(training.stdout, /saved/);
    assert.deepEqual(training.late, [], "the training went on after the cell ended");
    // It stopped at once: well before the 500 epochs (minutes) it was asked for.
    assert.ok(training.seconds < 60, `the cell took ${training.seconds} s`);

    assert.equal(after.status, "ok", show(after));
    assert.deepEqual(JSON.parse(after.stdout), { left: 0 }, "tensors left by the interrupted run");

    assert.equal(continuation.status, "error", show(continuation));
    assert.deepEqual(continuation.late, [], "the interrupted cell trained in the background");

    assert.equal(alive.status, "ok", show(alive));
    assert.equal(alive.stdout.trim(), "alive 2");
    assert.equal(short.status, "ok", show(short));
    assert.match(short.stdout, /checkpoint tiny-c-[0-9a-f]+: saved/, show(short));
    const saved = files(checkpoints).filter((f) => f.endsWith("manifest.json"));
    assert.equal(saved.length, 1, `checkpoints: ${files(checkpoints).join(", ")}`);
    assert.match(saved[0] as string, /^tiny-c-/);
  });

  it("Interrupt stops synchronous analysis after an await within 1 s, and Run All with it", () => {
    // Before: a SIGINT waited for the event loop, so the cell ran to its end and Run All
    // went on. The loops of lib read the launcher's counters at every batch or row.
    const analysis = (label: string, work: string) => ({
      label,
      code: `await new Promise((r) => setTimeout(r, 10));\nconsole.log("${label} starts");\n${work}\nconsole.log("finished");`,
    });
    const results = session(
      [
        {
          run_all: [
            {
              label: "setup",
              code: `import * as tf from "@tensorflow/tfjs";
import { mapBatches } from "dlc7/data";
import { symmetricEigen } from "dlc7/linalg";
import { notebook } from "dlc7/notebook";
const nb = await notebook("7.4");
const x = tf.randomNormal([20000, 784], 0, 1, "float32", 1);
const w = tf.randomNormal([784, 784], 0, 0.03, "float32", 2);
const before = tf.memory().numTensors;
const a = Float64Array.from({ length: 784 * 784 }, (_, k) => Math.cos(Math.floor(k / 784) * (k % 784)));`,
            },
            analysis("codes", "const y = mapBatches(x, 20, (b) => tf.matMul(tf.matMul(b, w), w));"),
            { label: "after", code: `console.log("after");` },
          ],
          interrupt_when: "codes starts",
          interrupt_delay: 0.5,
        },
        { sleep: 1 },
        {
          run_all: [
            analysis("eigen", "symmetricEigen(a, 784);"),
            { label: "after eigen", code: `console.log("after");` },
          ],
          interrupt_when: "eigen starts",
          interrupt_delay: 0.5,
        },
        { sleep: 1 },
        // A cell without await: Node's vm may end it at once (tslab's breakOnSigint), in the
        // middle of a tf.tidy; the engine is put back (a training afterwards works). Its output
        // comes when it ends: interrupted after a time, in its third pass of about 1 s.
        {
          run_all: [
            {
              label: "sync",
              code:
                `for (let i = 0; i < 8; i++) {\n` +
                `  mapBatches(x, 20, (b) => tf.matMul(tf.matMul(b, w), w)).dispose();\n` +
                `  console.log("pass", i);\n}`,
            },
            { label: "after sync", code: `console.log("after");` },
          ],
          interrupt_after: 2.5,
        },
        { sleep: 1 },
        {
          code: `const left = tf.memory().numTensors - before;
const v = tf.variable(tf.ones([2]));
const g = tf.variableGrads(() => tf.sum(tf.square(v)) as tf.Scalar);
console.log(JSON.stringify({ left, grad: Array.from(g.grads[v.name]!.dataSync()) }));`,
          label: "memory",
        },
      ],
      { MNIST_DIR: process.env.MNIST_DIR ?? "" },
    );
    const { setup, codes, after, eigen, afterEigen, sync, afterSync, memory } = named(results, [
      "setup",
      "codes",
      "after",
      "eigen",
      "afterEigen",
      "sync",
      "afterSync",
      "memory",
    ]);
    assert.equal(setup.status, "ok", show(setup));
    for (const [cell, called, next] of [
      [codes, "mapBatches, at batch \\d+ of 1000", after],
      [eigen, "symmetricEigen, (reducing|accumulating) row \\d+ of 783", afterEigen],
    ] as const) {
      assert.equal(cell.status, "error", show(cell));
      assert.doesNotMatch(cell.stdout, /finished/, show(cell));
      assert.match(
        cell.stderr,
        new RegExp(`^Interrupted: In \\[\\d+\\] stopped in ${called}\\n?$`),
      );
      assert.ok(cell.interrupted_at !== null, show(cell));
      const latency = cell.seconds - cell.interrupted_at;
      assert.ok(latency < 1, `${cell.label} stopped ${latency.toFixed(2)} s after Interrupt`);
      assert.equal(next.status, "abort", `Run All went on: ${show(next)}`);
    }
    assert.equal(sync.status, "error", show(sync));
    assert.doesNotMatch(sync.stdout, /pass 7/, show(sync));
    assert.match(
      sync.stderr,
      /^Interrupted: In \[\d+\] stopped( in mapBatches, at batch \d+ of 1000)?\n?$/,
    );
    assert.ok(sync.seconds - (sync.interrupted_at ?? 0) < 1, show(sync));
    assert.equal(afterSync.status, "abort", show(afterSync));
    assert.deepEqual(
      JSON.parse(memory.stdout),
      { left: 0, grad: [2, 2] },
      "tensors left by the stopped loops, or gradients off",
    );
  });

  it("the kernel stays busy through Run All; frames carry the cells' own lines", () => {
    const results = session(
      [
        {
          // c runs synchronously for 2 s: Jupyter heard nothing while it ran.
          run_all: [
            ...["a", "b"].map((label) => ({
              label,
              code: `await new Promise((r) => setTimeout(r, 300));`,
            })),
            { label: "c", code: `const end = Date.now() + 2000;\nwhile (Date.now() < end);` },
            { label: "d", code: `await new Promise((r) => setTimeout(r, 300));` },
          ],
        },
        {
          label: "define",
          code: `import { installErrorDisplay } from "dlc7/kernel/errors";
installErrorDisplay();
// A comment, a type and a blank line: the compiled code's lines differ.
type Count = number;

function f(n: Count): Count {
  if (n > 2) throw new Error("thrown on line 7");
  return f(n + 1);
}`,
        },
        { label: "call", code: `const start: number = 0;\n\nf(start);` },
      ],
      {},
    );
    const runAll = results.slice(0, 4);
    for (const r of runAll) {
      assert.equal(r.status, "ok", show(r));
      assert.deepEqual(
        r.statuses.map(([, s]) => s).filter((s, i, all) => s !== all[i - 1]),
        ["busy", "idle"],
        `${r.label}: ${JSON.stringify(r.statuses)}`,
      );
    }
    // In the order they were sent, the kernel's last word is busy until the last cell ends.
    const order = runAll.flatMap((r) => r.statuses).sort((p, q) => p[0] - q[0]);
    const states = order.map(([, s]) => s);
    assert.equal(states.at(-1), "idle");
    states.forEach((s, i) => {
      if (s === "idle" && i < states.length - 1) {
        assert.equal(states[i + 1], "busy", `idle while cells remained: ${states.join(" ")}`);
      }
    });
    // c ran synchronously: b's reply, then c's busy, came before it ran, not when it ended.
    const [b, c] = [runAll[1], runAll[2]] as [CellResult, CellResult];
    const cBusy = c.statuses.find(([, s]) => s === "busy")?.[2]!;
    assert.ok((b.replied_at as number) < (c.replied_at as number) - 1.5, JSON.stringify(order));
    assert.ok(cBusy < (c.replied_at as number) - 1.5, JSON.stringify(order));
    const [define, call] = results.slice(4) as [CellResult, CellResult];
    assert.equal(define.status, "ok", show(define));
    assert.equal(call.status, "error", show(call));
    const lines = call.stderr.trim().split("\n");
    assert.equal(lines[0], "Error: thrown on line 7");
    assert.match(lines[1] as string, /^ {4}at f \(In \[\d+\]:7:20\)$/);
    assert.match(lines[2] as string, /^ {4}at (Proxy\.)?f \(In \[\d+\]:8:10\)$/);
    assert.ok(
      lines.some((l) => /^ {4}at In \[\d+\]:3:1$/.test(l)),
      call.stderr,
    );
    assert.match(lines.at(-1) as string, /^ {4}\(\d+ more frames inside tfjs, tslab or Node\)$/);
  });

  it("every message of a cell reaches Jupyter, in order, past zeromq's 512 sends in a row", () => {
    // Unpatched, tslab's sends past the 512th of a burst threw EBUSY: this cell showed 0-507,
    // and a throw in a status message killed the kernel (a full run of 7.3, exit code 7).
    // Past 512, and under the 1,000 messages a PUB socket queues for a slow reader before it
    // drops (ZeroMQ's high-water mark, by design: 1,500 lost some on a loaded machine).
    const n = 800;
    const { burst, alive } = named(
      session(
        [
          { code: `for (let i = 0; i < ${n}; i++) console.log(i);`, label: "burst", timeout: 120 },
          { code: `console.log("alive");`, label: "alive" },
        ],
        {},
      ),
      ["burst", "alive"],
    );
    assert.equal(burst.status, "ok", show(burst));
    const lines = burst.stdout.trim().split("\n");
    assert.equal(lines.length, n, `${lines.length} lines, the last: ${lines.at(-1)}`);
    assert.deepEqual(
      lines.map(Number),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.equal(burst.stderr, "", show(burst));
    assert.equal(alive.stdout.trim(), "alive", show(alive));
  });

  it("7.1: every cell re-runs after Run All, in the orders a student uses", () => {
    const nb = path.join(notebooks, "7.1-transposed-convolutions.ipynb");
    const results = session(
      [
        { notebook: nb, cells: "all" },
        // Figures again, a table, the matrix check, the layers redefined then drawn again.
        { notebook: nb, cells: [13, 21, 26, 15, 10, 25, 26, 3, 5, 18, 19] },
      ],
      { DLC_FIGURES_DIR: figures },
    );
    for (const r of results) assert.equal(r.status, "ok", show(r));
    const code = JSON.parse(fs.readFileSync(nb, "utf8")).cells.filter(
      (c: { cell_type: string }) => c.cell_type === "code",
    ).length;
    assert.equal(results.length, code + 11);
  });

  it("7.2: every cell re-runs after Run All; a freed model names its variable and cell", () => {
    const nb = path.join(notebooks, "7.2-deep-autoencoders.ipynb");
    const results = session(
      [
        { notebook: nb, cells: "all" },
        // The training cell again (checkpoints load; the previous models are freed), then
        // the cells that use the models, the data cell, and the figures.
        { notebook: nb, cells: [7, 12, 15, 20, 22, 3, 12, 8, 16, 14, 18] },
        { code: "const enc = autoencoder(8).encoder;", label: "take a part" },
        { notebook: nb, cells: [7] },
        { code: "enc.forward(X);", label: "use the freed part" },
        { sleep: 1 },
        { code: "autoencoder(8).forward(tf.zeros([1, 3, 28, 28]));", label: "bad input" },
      ],
      { DLC_FIGURES_DIR: figures, MNIST_DIR: process.env.MNIST_DIR ?? "" },
    );
    const [freed, bad] = results.slice(-2) as [CellResult, CellResult];
    for (const r of results.slice(0, -2)) assert.equal(r.status, "ok", show(r));

    assert.equal(freed.status, "error", show(freed));
    const first = freed.stderr.split("\n")[0] as string;
    assert.match(
      first,
      /^\w*Error: `enc` \(In \[\d+\]: `const enc = autoencoder\(8\)\.encoder;`\)/,
    );
    assert.match(first, /re-run the cell that defines `enc`, then this one/);

    assert.equal(bad.status, "error", show(bad));
    assert.match(
      bad.stderr.split("\n")[0] as string,
      /^Error: AutoEncoder: expected images \[N, 1, 28, 28\], got \[1, 3, 28, 28\]$/,
    );
    assert.doesNotMatch(bad.stderr, /tf-core|throw ex/, bad.stderr);
  });
});
