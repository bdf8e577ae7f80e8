/**
 * The main job end to end, on tiny tslab notebooks written here (a slow machine is a
 * sleeping cell under --cell-timeout): time limits, kernel deaths, failed runs that keep
 * the previous figures, Ctrl-C/SIGTERM, the output-folder lock, relative paths.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { processAlive } from "../lib/lock-file";
import type { Manifest } from "../lib/viz/manifest";
import { MATHJAX_DEBIAN } from "../tools/run-notebooks";
import type { RunSummary } from "../tools/run-summary";

const root = path.resolve(__dirname, "..");
const python = process.env.DLC_PYTHON ?? "/usr/bin/python3";
const jupyterData = path.join(root, "build", "jupyter", "share", "jupyter");
const tsx = path.join(root, "node_modules", "tsx", "dist", "cli.mjs");

/** Writes a tslab notebook with these code cells. */
function notebook(file: string, cells: string[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const nb = {
    cells: cells.map((source) => ({
      cell_type: "code",
      execution_count: null,
      metadata: {},
      outputs: [],
      source,
    })),
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 4,
  };
  fs.writeFileSync(file, JSON.stringify(nb));
}

/** A cell that saves one figure of `section` as lib/viz would: a PNG and its manifest entry. */
function figureCell(section: string, name: string, content: string): string {
  const entry = {
    section,
    name,
    kind: "image",
    caption: `${name} of ${section}`,
    slide: null,
    notebook: `${section}.ipynb`,
    cell: 0,
    seed: 0,
    backend: "wasm",
    dataset: "mnist",
    quick: true,
    elapsedSeconds: 0,
    width: 1,
    height: 1,
    scale: 1,
    files: [{ path: `${section}/${name}.png`, sha256: "0", bytes: content.length }],
  };
  return `const fs = require("fs");
const dir: string = process.env.DLC_FIGURES_DIR!;
fs.mkdirSync(dir + "/${section}", { recursive: true });
fs.writeFileSync(dir + "/${section}/${name}.png", ${JSON.stringify(content)});
fs.writeFileSync(dir + "/manifest.json", JSON.stringify({ version: 1, tables: [], figures: [${JSON.stringify(entry)}] }));`;
}

interface JobRun {
  code: number | null;
  output: string;
}

/**
 * Starts the main job through tsx, or with `npm` as the user does (`npm run figures`, with
 * its setup); `onLine` sees each output line.
 */
function startJob(
  args: string[],
  options: {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    onLine?: (line: string) => void;
    npm?: boolean;
    /** In a process group of its own (which a test may kill whole). */
    detached?: boolean;
  },
): { pid: number; done: Promise<JobRun> } {
  const [cmd, argv] =
    options.npm === true
      ? ["npm", ["--prefix", root, "run", "-s", "figures", "--", ...args]]
      : [process.execPath, [tsx, path.join(root, "tools", "run-notebooks.ts"), ...args]];
  const child = spawn(cmd, argv, {
    cwd: options.cwd,
    env: {
      ...process.env,
      INIT_CWD: options.cwd,
      DLC_PYTHON: python,
      JUPYTER_PATH: jupyterData,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached === true,
  });
  let output = "";
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString("utf8");
    output += text;
    for (const line of text.split("\n")) options.onLine?.(line);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const done = new Promise<JobRun>((resolve) =>
    child.on("close", (code) => resolve({ code, output })),
  );
  return { pid: child.pid as number, done };
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** Live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Polls `done` every 200 ms for up to `ms`; true if it became true. */
async function within(ms: number, done: () => boolean): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms;) {
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return done();
}

const canRunKernels = (): boolean =>
  fs.existsSync(path.join(jupyterData, "kernels", "tslab", "kernel.json")) &&
  spawnSync(python, ["-c", "import nbclient, nbformat, nbconvert"]).status === 0;

describe("main job, end to end on tiny tslab notebooks", function () {
  this.timeout(180_000);
  let dir: string;

  before(function () {
    if (!canRunKernels()) {
      console.log(
        "      (skipped: needs Jupyter and the tslab kernel; npm test's setup installs them)",
      );
      this.skip();
    }
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-main-job-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses bad arguments with the usage line, before running anything", async () => {
    notebook(path.join(dir, "nb", "7.1-a.ipynb"), ["1"]);
    for (const args of [
      ["--notebooks", "nb", "--out"],
      ["--notebooks", "nb", "--only", "7.9"],
      ["--notebooks", "nb", "--outt", "x"],
    ]) {
      const run = await startJob(args, { cwd: dir }).done;
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.output}`);
      assert.match(run.output, /^figures: .*\nusage: npm run figures -- \[--quick/m);
      assert.deepEqual(fs.readdirSync(dir).sort(), ["nb"]);
      assert.deepEqual(fs.readdirSync(path.join(dir, "nb")), ["7.1-a.ipynb"]);
    }
  });

  it("refuses every bad DLC_* value in one line each (exit 2, no stack trace) before any kernel, in under 10 s", async () => {
    notebook(path.join(dir, "nb", "7.1-a.ipynb"), ['require("fs").writeFileSync("ran", "")']);
    const bad: Record<string, [string, RegExp]> = {
      DLC_SEED: ["abc", /^figures: DLC_SEED=abc: use a decimal integer between 0 and 2\^31 - 1/],
      DLC_BACKEND: [
        "gpu",
        /^figures: DLC_BACKEND=gpu: not a backend; use one of tensorflow, webgpu, native, wasm, cpu$/,
      ],
      DLC_QUICK: ["yes", /^figures: DLC_QUICK=yes: use 1 or 0$/],
      DLC_DATASET: ["cifar", /^figures: DLC_DATASET=cifar: use "mnist" or "fashion-mnist"$/],
      DLC_THREADS: ["0", /^figures: DLC_THREADS=0: use an integer between 1 and 64/],
    };
    const check = async (env: Record<string, string>): Promise<void> => {
      const t0 = Date.now();
      const run = await startJob(["--notebooks", "nb", "--out", "out"], { cwd: dir, env }).done;
      const seconds = (Date.now() - t0) / 1000;
      const lines = run.output.trim().split("\n");
      const names = Object.keys(env);
      assert.equal(run.code, 2, run.output);
      assert.ok(seconds < 10, `${names.join(", ")}: ${seconds} s`);
      assert.equal(lines.length, names.length, run.output);
      for (const k of names) {
        const pattern = (bad[k] as [string, RegExp])[1];
        assert.ok(
          lines.some((l) => pattern.test(l)),
          `${pattern} in:\n${run.output}`,
        );
      }
      assert.deepEqual(fs.readdirSync(dir).sort(), ["nb"], "nothing written, nothing run");
    };
    for (const [k, [v]] of Object.entries(bad)) await check({ [k]: v });
    await check(Object.fromEntries(Object.entries(bad).map(([k, [v]]) => [k, v])));
  });

  for (const what of ["its top process (npm)", "its whole process group"] as const) {
    it(`kill -9 of ${what} leaves no kernel or executor alive after 10 s; the next run is not refused`, async function () {
      const nb = path.join(dir, "nb");
      const out = path.join(dir, "out");
      notebook(path.join(nb, "7.1-sleep.ipynb"), [
        "1",
        "await new Promise((r) => setTimeout(r, 120000));",
      ]);
      // npm runs the setup first, which may build the library or the native addon (minutes).
      this.timeout(600_000);
      let kernel = 0;
      let job: { pid: number; done: Promise<JobRun> } | null = null;
      const sleeping = new Promise<void>((resolve) => {
        job = startJob(["--notebooks", nb, "--out", out], {
          cwd: dir,
          npm: true,
          detached: true,
          onLine: (line) => {
            const pid = /kernel pid (\d+)/.exec(line)?.[1];
            if (pid !== undefined) kernel = Number(pid);
            if (/cell 0 \(1\/2 code\)/.test(line)) resolve();
          },
        });
      });
      const ended = (job as unknown as { done: Promise<JobRun> }).done.then((run) => {
        throw new Error(`the job ended before its sleeping cell (${run.code}):\n${run.output}`);
      });
      await Promise.race([sleeping, ended]);
      ended.catch(() => undefined); // it ends when killed, below
      const top = (job as unknown as { pid: number; done: Promise<JobRun> }).pid;
      const executors = processesMentioning(path.join(nb, "7.1-sleep.ipynb"));
      assert.ok(kernel > 0 && processAlive(kernel), "the kernel runs");
      assert.ok(executors.length > 0, "the executor runs");
      // The job itself, which holds the output folder's lock (a zombie until it is reaped).
      const holder = readJson<{ pid: number }>(path.join(out, ".main-job.lock")).pid;
      process.kill(what === "its top process (npm)" ? top : -top, "SIGKILL");
      const gone = await within(
        10_000,
        () =>
          !processAlive(kernel) && !processAlive(holder) && processesMentioning(dir).length === 0,
      );
      assert.ok(
        gone,
        `left after 10 s: kernel ${kernel} ${processAlive(kernel) ? "alive" : "gone"}, ` +
          `job ${holder} ${processAlive(holder) ? "alive" : "gone"}, ` +
          processesMentioning(dir)
            .map((p) => `${p}: ${fs.readFileSync(`/proc/${p}/cmdline`, "utf8")}`)
            .join("; "),
      );
      notebook(path.join(nb, "7.1-sleep.ipynb"), ["1"]);
      const next = await startJob(["--notebooks", nb, "--out", out], { cwd: dir }).done;
      assert.equal(next.code, 0, next.output);
      assert.doesNotMatch(next.output, /another main job/);
    });
  }

  describe("a run where one notebook times out, one's kernel dies and one succeeds", () => {
    let run: JobRun;
    let out: string;
    let summary: RunSummary;
    let dir: string;

    before(async function () {
      if (!canRunKernels()) this.skip();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-main-job-"));
      const nb = path.join(dir, "nb");
      out = path.join(dir, "out");
      notebook(path.join(nb, "7.1-slow.ipynb"), [
        figureCell("7.1", "curve", "new"),
        "// the long training cell\nawait new Promise((r) => setTimeout(r, 120000));",
      ]);
      notebook(path.join(nb, "7.2-dies.ipynb"), [
        'require("fs").writeSync(2, "out of patience\\n");\nprocess.exit(3);',
      ]);
      notebook(path.join(nb, "7.3-fine.ipynb"), [
        figureCell("7.3", "grid", "fresh"),
        'const m: string = process.env.MNIST_DIR!;\nif (!require("fs").existsSync(m + "/marker")) throw new Error("no " + m);\nconsole.log(m);',
      ]);
      // The previous run's figures of 7.1 and 7.3.
      const previous: Manifest = {
        version: 1,
        figures: (["7.1", "7.3"] as const).map((s) => ({
          section: s,
          name: "old",
          kind: "image" as const,
          caption: `old figure of ${s}`,
          slide: null,
          notebook: null,
          cell: 0,
          seed: 0,
          backend: "wasm",
          dataset: "mnist",
          quick: false,
          elapsedSeconds: 0,
          width: 1,
          height: 1,
          scale: 1,
          files: [{ path: `${s}/old.png`, sha256: "0", bytes: 3 }],
        })),
        tables: [],
        runs: {
          "7.1": {
            notebook: "7.1-slow.ipynb",
            finishedAt: "2026-01-01T00:00:00.000Z",
            quick: false,
          },
        },
      };
      for (const s of ["7.1", "7.3"]) {
        fs.mkdirSync(path.join(out, "figures", s), { recursive: true });
        fs.writeFileSync(path.join(out, "figures", s, "old.png"), "old");
      }
      fs.writeFileSync(path.join(out, "figures", "manifest.json"), JSON.stringify(previous));
      // A lock left by a killed run: taken over.
      const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
      fs.writeFileSync(
        path.join(out, ".main-job.lock"),
        JSON.stringify({ pid: gone, host: os.hostname() }),
      );
      // Relative paths are read from where the command starts (here: dir/start).
      fs.mkdirSync(path.join(dir, "start", "data", "mnist"), { recursive: true });
      fs.writeFileSync(path.join(dir, "start", "data", "mnist", "marker"), "");
      const t0 = Date.now();
      run = await startJob(["--notebooks", "../nb", "--out", "../out", "--cell-timeout", "3"], {
        cwd: path.join(dir, "start"),
        env: { MNIST_DIR: "data/mnist" },
      }).done;
      console.log(`      (the job took ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      summary = readJson<RunSummary>(path.join(out, "run-summary.json"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("stops the slow cell at --cell-timeout, saying so with the cell's source", () => {
      assert.equal(run.code, 1, run.output);
      assert.match(
        run.output,
        /\[7\.1\] FAILED in cell 1 of 7\.1-slow\.ipynb: cell 1 exceeded 3 s/,
      );
      assert.match(run.output, /\[7\.1\] \| \/\/ the long training cell/);
      const r = summary.notebooks[0];
      assert.deepEqual([r?.status, r?.ok, r?.failedCell], ["timeout", false, 1]);
    });

    it("reports a kernel's death with its exit code and last stderr lines", () => {
      assert.match(
        run.output,
        /\[7\.2\] FAILED in cell 0 of 7\.2-dies\.ipynb: the kernel died during cell 0: exit code 3/,
      );
      assert.match(
        run.output,
        /last lines the kernel wrote to stderr -----\n\[7\.2\] out of patience/,
      );
      const r = summary.notebooks[1];
      assert.equal(r?.status, "kernel died");
      assert.match(r?.message ?? "", /exit code 3/);
    });

    it("keeps a failed notebook's previous figures and replaces a successful one's", () => {
      const m = readJson<Manifest>(path.join(out, "figures", "manifest.json"));
      assert.deepEqual(
        m.figures.map((f) => `${f.section}/${f.name}`),
        ["7.1/old", "7.3/grid"],
      );
      assert.equal(fs.readFileSync(path.join(out, "figures", "7.1", "old.png"), "utf8"), "old");
      assert.ok(!fs.existsSync(path.join(out, "figures", "7.1", "curve.png")));
      assert.deepEqual(fs.readdirSync(path.join(out, "figures", "7.3")), ["grid.png"]);
      assert.equal(m.runs?.["7.1"]?.finishedAt, "2026-01-01T00:00:00.000Z");
      assert.equal(m.runs?.["7.3"]?.notebook, "7.3-fine.ipynb");
      assert.deepEqual(
        summary.notebooks.map((r) => r.figures),
        ["an earlier run", "none", "this run"],
      );
      assert.deepEqual(fs.readdirSync(path.join(out, "notebooks")).sort(), [
        "7.1-slow.failed.html",
        "7.1-slow.failed.ipynb",
        "7.2-dies.failed.html",
        "7.2-dies.failed.ipynb",
        "7.3-fine.html",
        "7.3-fine.ipynb",
        ...(fs.existsSync(MATHJAX_DEBIAN) ? ["mathjax"] : []),
      ]);
      assert.deepEqual(fs.readdirSync(out).sort(), ["figures", "notebooks", "run-summary.json"]);
    });

    it("writes a README and summary that never call an unfinished notebook ok", () => {
      assert.equal(summary.status, "failed");
      assert.deepEqual(
        summary.notebooks.map((r) => [r.notebook, r.ok]),
        [
          ["7.1-slow.ipynb", false],
          ["7.2-dies.ipynb", false],
          ["7.3-fine.ipynb", true],
        ],
      );
      const readme = fs.readFileSync(path.join(out, "figures", "README.md"), "utf8");
      assert.match(readme, /\*\*2 of 3 notebook\(s\) failed\*\*/);
      assert.match(
        readme,
        /\| `7\.1-slow\.ipynb` \| \*\*cell 1 exceeded 3 s.*\| the run of 2026-01-01 00:00:00 UTC \(full mode\), kept \|/,
      );
      assert.match(readme, /\| `7\.3-fine\.ipynb` \| ok, /);
      assert.match(readme, /old figure of 7\.1/);
    });

    it("passes relative paths to kernels as absolute ones, read from the start folder", () => {
      const executed = readJson<{ cells: { outputs: { text?: string[] }[] }[] }>(
        path.join(out, "notebooks", "7.3-fine.ipynb"),
      );
      const printed = executed.cells[1]?.outputs.map((o) => (o.text ?? []).join("")).join("");
      assert.equal(printed, `${path.join(dir, "start", "data", "mnist")}\n`);
    });

    it("takes over the lock of a run that has ended, and releases its own", () => {
      assert.match(
        run.output,
        /taking over .*\.main-job\.lock, left by pid \d+ .* which has ended/,
      );
      assert.ok(!fs.existsSync(path.join(out, ".main-job.lock")));
    });
  });

  it("refuses a second run into an output folder another run holds", async () => {
    notebook(path.join(dir, "nb", "7.1-a.ipynb"), ["1"]);
    fs.mkdirSync(path.join(dir, "out"));
    const lock = path.join(dir, "out", ".main-job.lock");
    fs.writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, host: os.hostname(), what: "npm run figures" }),
    );
    const run = await startJob(["--notebooks", "nb", "--out", "out"], { cwd: dir }).done;
    assert.equal(run.code, 1);
    assert.match(
      run.output,
      new RegExp(
        `another main job is writing to ${dir}/out: pid ${process.pid} on .*\\(npm run figures\\)`,
      ),
    );
    assert.deepEqual(fs.readdirSync(path.join(dir, "out")), [".main-job.lock"]);
  });

  it("SIGTERM to npm run figures stops the running kernel and leaves a truthful summary", async () => {
    notebook(path.join(dir, "nb", "7.1-sleep.ipynb"), [
      "1",
      "await new Promise((r) => setTimeout(r, 120000));",
    ]);
    notebook(path.join(dir, "nb", "7.2-next.ipynb"), ["2"]);
    let kernel = 0;
    let job: { pid: number; done: Promise<JobRun> } | null = null;
    const sleeping = new Promise<void>((resolve) => {
      job = startJob(["--notebooks", "nb", "--out", "out"], {
        cwd: dir,
        npm: true,
        onLine: (line) => {
          const pid = /kernel pid (\d+)/.exec(line)?.[1];
          if (pid !== undefined) kernel = Number(pid);
          if (/cell 0 \(1\/2 code\)/.test(line)) resolve();
        },
      });
    });
    await sleeping;
    assert.ok(kernel > 0 && processAlive(kernel));
    const started = Date.now();
    process.kill((job as unknown as { pid: number }).pid, "SIGTERM");
    const run = await (job as unknown as { done: Promise<JobRun> }).done;
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms to stop`);
    assert.equal(run.code, 143, run.output);
    assert.ok(!processAlive(kernel), `kernel ${kernel} is still running`);
    const summary = readJson<RunSummary>(path.join(dir, "out", "run-summary.json"));
    assert.equal(summary.status, "interrupted");
    assert.deepEqual(
      summary.notebooks.map((r) => [r.status, r.ok]),
      [
        ["interrupted", false],
        ["not run", false],
      ],
    );
    const readme = fs.readFileSync(path.join(dir, "out", "figures", "README.md"), "utf8");
    assert.match(readme, /\*\*interrupted\*\* before it finished/);
    assert.doesNotMatch(readme, /\| `7\.1-sleep\.ipynb` \| ok/);
    assert.ok(!fs.existsSync(path.join(dir, "out", ".main-job.lock")));
    assert.ok(fs.existsSync(path.join(dir, "out", "notebooks", "7.1-sleep.interrupted.ipynb")));
  });
});
