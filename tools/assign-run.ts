/**
 * Runs a notebook headless in a fresh tslab kernel for `npm run assign` and `npm run grade`:
 * every code cell runs (a failing one does not stop the rest), a cell is interrupted after
 * the cell timeout, the whole run is killed at the time limit, and what each cell printed
 * comes back with the check records of lib/assignments.
 *
 * The kernel works in a temporary folder (its cwd, HOME and TMPDIR) that is deleted
 * afterwards. With `sandbox`, it runs in Linux namespaces (tools/grade-sandbox.sh): no
 * network, every file read-only but that folder, no capabilities, no view of other processes.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RECORD_PREFIX, type CheckRecord } from "../lib/assignments/record";
import { type Notebook, notebookJson, sourceOf } from "./assign-notebook";

export const root = path.resolve(__dirname, "..");

export interface CellRun {
  status: "ok" | "error" | "timeout";
  seconds: number;
  /** What the cell printed, without the check records. */
  text: string;
  /** The kernel's error output for a failed cell. */
  error: string;
  records: CheckRecord[];
}

/** How a run ended: all cells ran, the time limit killed it, the kernel died, or it never started. */
export type RunEnd = "completed" | "time-limit" | "kernel-died" | "failed";

export interface RunResult {
  cells: Map<number, CellRun>;
  end: RunEnd;
  /** The cell that was running when the run stopped early. */
  running: number | null;
  seconds: number;
  kernelSeconds: number | null;
  /** The executor's stderr (last lines), for a run that failed. */
  log: string;
  /** The temporary folder the kernel worked in (deleted when the run ends). */
  work: string;
  /** The kernel died in a first run and this is the second (see runNotebook). */
  rerun: boolean;
}

export interface RunOptions {
  sandbox: boolean;
  timeLimitSeconds: number;
  cellTimeoutSeconds: number;
}

/** Environment variables a notebook may see (nothing else of the caller's leaks into a run). */
const PASSED = [
  "PATH",
  "LANG",
  "LC_ALL",
  "MNIST_DIR",
  "FASHION_MNIST_DIR",
  "DLC_SEED",
  "DLC_BACKEND",
  "DLC_WASM_THREADS",
  "DLC_DATASET",
  "DLC_QUICK",
  "DLC_PYTHON",
];

/** The Python that runs Jupyter (tools/setup.sh exports DLC_PYTHON). */
export function python(): string {
  return process.env.DLC_PYTHON ?? "/usr/bin/python3";
}

/** Checks that Jupyter, the tslab kernel and the compiled library are there; throws what to run. */
export function checkSetup(): void {
  const kernel = path.join(root, "build/jupyter/share/jupyter/kernels/tslab/kernel.json");
  const lib = path.join(root, "node_modules/dlc7/assignments/index.js");
  const py = spawnSync(python(), ["-c", "import nbclient, nbformat"], { encoding: "utf8" });
  if (py.status !== 0 || !fs.existsSync(kernel) || !fs.existsSync(lib))
    throw new Error(
      "Jupyter, the tslab kernel or the compiled library is missing: run `npm run assign` / " +
        "`npm run grade` (they set them up), or `source tools/setup.sh` first.",
    );
}

function unshareArgs(): string[] {
  const args = ["--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"];
  return process.getuid?.() === 0 ? args : ["--user", "--map-root-user", ...args];
}

/**
 * Whether the sandbox works on this machine: null if it does, else what to do. It needs
 * util-linux's unshare and setpriv (in every Debian) and either root or unprivileged user
 * namespaces.
 */
export function sandboxProblem(): string | null {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-sandbox-probe-"));
  try {
    const r = spawnSync(
      "unshare",
      [...unshareArgs(), "bash", path.join(root, "tools/grade-sandbox.sh"), probe, "--", "true"],
      { encoding: "utf8", env: { PATH: process.env.PATH ?? "", DLC_PYTHON: python() } },
    );
    if (r.error === undefined && r.status === 0) return null;
    const why = (r.error?.message ?? r.stderr ?? "").trim().split("\n").slice(-2).join(" ");
    return (
      `the grader's sandbox (Linux namespaces through unshare and setpriv, from util-linux) ` +
      `does not work here: ${why || `exit status ${r.status}`}. Run the grader as root, or ` +
      `enable unprivileged user namespaces (sysctl -w kernel.unprivileged_userns_clone=1), or ` +
      `pass --no-sandbox to grade trusted notebooks without isolation.`
    );
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

interface ExecutorEvent {
  event: "kernel" | "start" | "done" | "dead" | "end";
  cell?: number;
  seconds?: number;
  pgid?: number | null;
  status?: CellRun["status"];
  text?: string;
  error?: string;
}

/** Splits a cell's printed text into what a reader sees and the check records. */
export function splitRecords(text: string): { text: string; records: CheckRecord[] } {
  const records: CheckRecord[] = [];
  const kept: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith(RECORD_PREFIX)) {
      try {
        const r = JSON.parse(line.slice(RECORD_PREFIX.length)) as CheckRecord;
        if (typeof r.question === "string" && typeof r.test === "string") {
          records.push({
            question: r.question,
            test: r.test,
            passed: r.passed === true,
            message: String(r.message ?? ""),
          });
          continue;
        }
      } catch {
        // not a record after all: keep the line as printed text
      }
    }
    kept.push(line);
  }
  return { text: kept.join("\n"), records };
}

function killGroup(pgid: number | null | undefined): void {
  if (pgid === null || pgid === undefined || pgid <= 1) return;
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Runs the notebook headless; never throws for what the notebook does. A kernel that dies
 * gets one more run: only a death that repeats is the notebook's (we have seen a tslab
 * kernel die once on a machine under heavy load, and never again on the same notebook).
 */
export async function runNotebook(nb: Notebook, options: RunOptions): Promise<RunResult> {
  const first = await runOnce(nb, options);
  if (first.end !== "kernel-died") return first;
  return { ...(await runOnce(nb, options)), rerun: true };
}

async function runOnce(nb: Notebook, options: RunOptions): Promise<RunResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-run-"));
  for (const d of ["home", "tmp", "runtime", "figures", "checkpoints"])
    fs.mkdirSync(path.join(work, d));
  // Notebooks import "dlc7/..." and tfjs: resolved from the kernel's folder upwards.
  fs.symlinkSync(path.join(root, "node_modules"), path.join(work, "node_modules"), "dir");
  const file = path.join(work, "notebook.ipynb");
  fs.writeFileSync(file, notebookJson(nb));

  const env: NodeJS.ProcessEnv = {};
  for (const k of PASSED) if (process.env[k] !== undefined) env[k] = process.env[k];
  Object.assign(env, {
    HOME: path.join(work, "home"),
    TMPDIR: path.join(work, "tmp"),
    JUPYTER_PATH: path.join(root, "build/jupyter/share/jupyter"),
    JUPYTER_RUNTIME_DIR: path.join(work, "runtime"),
    JUPYTER_CONFIG_DIR: path.join(work, "home/.jupyter"),
    JUPYTER_PLATFORM_DIRS: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    DLC_CHECK_RECORDS: "1",
    DLC_FIGURES_DIR: path.join(work, "figures"),
    DLC_CHECKPOINT_DIR: path.join(work, "checkpoints"),
  });
  const executor = [
    python(),
    path.join(root, "tools/assign_execute.py"),
    file,
    "--cwd",
    work,
    "--cell-timeout",
    String(Math.max(1, Math.ceil(options.cellTimeoutSeconds))),
  ];
  const [cmd, ...args] = options.sandbox
    ? [
        "unshare",
        ...unshareArgs(),
        "bash",
        path.join(root, "tools/grade-sandbox.sh"),
        work,
        "--",
        ...executor,
      ]
    : executor;

  const result: RunResult = {
    cells: new Map(),
    end: "failed",
    running: null,
    seconds: 0,
    kernelSeconds: null,
    log: "",
    work,
    rerun: false,
  };
  const t0 = Date.now();
  let kernelGroup: number | null = null;
  let timedOut = false;
  let finished = false;
  let stderr = "";
  await new Promise<void>((resolve) => {
    const child = spawn(cmd as string, args, {
      cwd: work,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
      killGroup(kernelGroup);
    }, options.timeLimitSeconds * 1000);
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let ev: ExecutorEvent;
        try {
          ev = JSON.parse(line) as ExecutorEvent;
        } catch {
          stderr += line + "\n";
          continue;
        }
        if (ev.event === "kernel") {
          result.kernelSeconds = ev.seconds ?? null;
          kernelGroup = ev.pgid ?? null;
        } else if (ev.event === "start") result.running = ev.cell ?? null;
        else if (ev.event === "done" && ev.cell !== undefined) {
          const { text, records } = splitRecords(ev.text ?? "");
          result.cells.set(ev.cell, {
            status: ev.status ?? "ok",
            seconds: ev.seconds ?? 0,
            text,
            error: ev.error ?? "",
            records,
          });
          result.running = null;
        } else if (ev.event === "dead") result.end = "kernel-died";
        else if (ev.event === "end") finished = true;
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-20_000);
    });
    child.on("error", (e) => {
      stderr += `cannot start ${cmd}: ${e.message}\n`;
    });
    child.on("close", () => {
      clearTimeout(timer);
      killGroup(kernelGroup); // a kernel left behind by a crashed executor
      resolve();
    });
  });
  result.seconds = (Date.now() - t0) / 1000;
  if (timedOut) result.end = "time-limit";
  else if (finished) result.end = "completed";
  result.log = stderr.trim().split("\n").slice(-30).join("\n");
  fs.rmSync(work, { recursive: true, force: true });
  return result;
}

/** The notebook with each cell's printed text (without check records) as its output. */
export function executedNotebook(nb: Notebook, run: RunResult): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((cell, i) => {
      if (cell.cell_type !== "code") return cell;
      const r = run.cells.get(i);
      const outputs: unknown[] = [];
      if (r !== undefined && r.text.trim() !== "")
        outputs.push({ output_type: "stream", name: "stdout", text: r.text });
      if (r === undefined && sourceOf(cell).trim() !== "") {
        const why =
          run.running === i
            ? run.end === "time-limit"
              ? "stopped here: the notebook's time limit was reached"
              : "stopped here: the kernel died"
            : "not run";
        outputs.push({ output_type: "stream", name: "stderr", text: `[grader] ${why}\n` });
      }
      return { ...cell, outputs, execution_count: null };
    }),
  };
}
