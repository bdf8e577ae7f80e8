/**
 * Runs a notebook headless in a fresh tslab kernel for `npm run assign` and `npm run grade`:
 * every code cell runs (a failing one does not stop the rest), a cell is interrupted after
 * the cell timeout, the whole run is killed at the time limit, and what each cell printed
 * comes back with the check records of lib/assignments.
 *
 * The kernel works in a temporary folder (its cwd, HOME and TMPDIR) that is deleted
 * afterwards. With `sandbox`, it runs in Linux namespaces (tools/grade-sandbox.sh): no
 * network, a root holding only what a notebook needs (not the masters, the autograders, home
 * folders or other submissions), every file read-only but its folder (a tmpfs), no
 * capabilities, no view of other processes. Memory and processes are limited in both modes
 * (rlimits: see `limits`); the notebook reaches the executor on its stdin, never as a file.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RECORD_PREFIX, type CheckRecord } from "../lib/assignments/record";
import { type Notebook, notebookJson, sourceOf } from "./assign-notebook";
import { type CellRecord, NotebookRun, python, root } from "./notebook-runner";

export { root };

/** A cell's record, its printed text without the check records, which come apart. */
export interface CellRun extends CellRecord {
  records: CheckRecord[];
}

/** How a run ended: all cells ran, the time limit killed it, the kernel died, or it never started. */
export type RunEnd = "completed" | "time-limit" | "kernel-died" | "failed";

export interface RunResult {
  cells: Map<number, CellRun>;
  end: RunEnd;
  /** The kernel died of the memory limit (V8 or the allocator said so on its stderr). */
  outOfMemory: boolean;
  /** The cell that was running when the run stopped early. */
  running: number | null;
  seconds: number;
  /** The last lines of the executor's and the kernel's stderr, for a run that failed. */
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
  /** Memory of the submission, its executor included (default DEFAULT_MEMORY_MIB). */
  memoryMiB?: number;
  /** CPU threads of its kernel (DLC_THREADS) where the caller's environment sets none. */
  threads?: number;
}

/**
 * Per submission: 2 GiB. The assignments' kernels peak at 380-560 MB of resident memory
 * (650 MB of data segment, 7.4 the most), so a correct answer has 3 times what it needs.
 */
export const DEFAULT_MEMORY_MIB = 2048;
/** The executor's share of it (Python, nbclient: about 60 MB); the kernel gets the rest. */
export const EXECUTOR_MIB = 256;
/** Processes and threads a submission may add (its kernel alone runs about 20 threads). */
const TASKS = 256;
/** The submission's folder, a tmpfs in the sandbox: checkpoints and figures fit easily. */
const WORK_MIB = 128;

/** How a submission's memory is split and enforced; also what the feedback says. */
export interface Limits {
  memoryMiB: number;
  /** The kernel's hard RLIMIT_DATA. */
  kernelMiB: number;
  /** V8's heap, below the kernel's limit, so that a heap that grows fails with V8's message. */
  heapMiB: number;
}

export function limits(memoryMiB: number = DEFAULT_MEMORY_MIB): Limits {
  if (!(Number.isInteger(memoryMiB) && memoryMiB >= 2 * EXECUTOR_MIB))
    throw new Error(
      `memory limit ${memoryMiB} MiB: give a whole number of MiB, at least ${2 * EXECUTOR_MIB}`,
    );
  const kernelMiB = memoryMiB - EXECUTOR_MIB;
  return { memoryMiB, kernelMiB, heapMiB: Math.floor(kernelMiB / 2) };
}

/** "2 GiB", "1536 MiB" */
export function formatMiB(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
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
  "DLC_THREADS",
  "DLC_DATASET",
  "DLC_QUICK",
  "DLC_PYTHON",
];

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

const isRoot = (): boolean => process.getuid?.() === 0;

/** `command` in the sandbox (tools/grade-sandbox.sh) whose root is built in `base`/root. */
function sandboxed(base: string, options: string[], command: string[]): string[] {
  const namespaces = ["--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"];
  return [
    "unshare",
    ...(isRoot() ? namespaces : ["--user", "--map-root-user", ...namespaces]),
    "bash",
    path.join(root, "tools/grade-sandbox.sh"),
    ...sandboxKeeps().flatMap((k) => ["--keep", k]),
    ...options,
    base,
    "--",
    ...command,
  ];
}

/** A folder's prefix when it is outside the system folders the sandbox always has. */
function outsideSystem(p: string): string | null {
  return /^\/(usr|bin|sbin|lib|lib32|lib64|libx32|etc)(\/|$)/.test(p) ? null : p;
}

let pythonPrefixes: string[] | null = null;

/**
 * What the sandbox keeps of this machine besides the system folders: the project's
 * node_modules, built library, kernel spec, tools (the kernel's launcher, the executor), the
 * native addon, the data, and Node's and Python's installations when elsewhere (nvm, conda).
 */
export function sandboxKeeps(): string[] {
  if (pythonPrefixes === null) {
    const r = spawnSync(python(), ["-c", "import sys; print(sys.prefix); print(sys.base_prefix)"], {
      encoding: "utf8",
    });
    pythonPrefixes = r.status === 0 ? r.stdout.trim().split("\n") : [];
  }
  const inRoot = [
    "package.json",
    "node_modules",
    "build/lib",
    "build/jupyter",
    "tools", // the kernel's launcher and the executor (no secret: the grader's code)
    "native/build/Release",
    "data/cache",
  ].map((p) => path.join(root, p));
  const data = [process.env.MNIST_DIR, process.env.FASHION_MNIST_DIR].filter(
    (d): d is string => d !== undefined && d !== "" && path.isAbsolute(d),
  );
  const installs = [
    path.dirname(path.dirname(fs.realpathSync(process.execPath))),
    ...pythonPrefixes,
  ].map(outsideSystem);
  return [...inRoot, ...data, ...installs].filter(
    (p): p is string => p !== null && fs.existsSync(p),
  );
}

let runs = 0;

/**
 * The user id a sandboxed run takes when the grader is root: one per run, so that one
 * submission's processes never count against another's limit (RLIMIT_NPROC is per user).
 * Far above the ids of real users; no file belongs to it.
 */
function sandboxUid(): number {
  return 1_900_000_000 + ((process.pid * 64 + runs++) % 90_000_000);
}

/** Tasks (threads) the given user runs now: without root, the process limit counts them all. */
function tasksOf(uid: number): number {
  let n = 0;
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, "utf8");
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
      n += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

/**
 * The executor's command line under the run's limits, inside the sandbox or not. `base` holds
 * the new root's mount point (sandbox) or the submission's folder (no sandbox).
 */
function limited(executor: string[], base: string, options: RunOptions, lim: Limits): string[] {
  const mib = (n: number): number => n * 1024 * 1024;
  // The executor's soft limit is raised to the hard one in the kernel (execute_notebook.py).
  const rlimits = [`--data=${mib(EXECUTOR_MIB)}:${mib(lim.kernelMiB)}`, "--core=0"];
  // The parent's death kills the run: a grader killed with -9 leaves no sandbox behind.
  const dieWithGrader = ["setpriv", "--pdeathsig", "KILL", "--"];
  if (!options.sandbox) return [...dieWithGrader, "prlimit", ...rlimits, "--", ...executor];
  const uid = isRoot() ? sandboxUid() : null;
  // Without root every process of the teacher counts: the limit is what runs now, and more.
  const tasks = uid !== null ? TASKS : tasksOf(process.getuid?.() ?? 0) + TASKS;
  const sandbox = [...(uid !== null ? ["--uid", String(uid)] : []), "--work-mib", `${WORK_MIB}`];
  const command = ["prlimit", ...rlimits, `--nproc=${tasks}`, "--", ...executor];
  return [...dieWithGrader, ...sandboxed(base, sandbox, command)];
}

/**
 * Whether the sandbox works on this machine: null if it does, else what to do. It needs
 * util-linux's unshare, setpriv and prlimit (in every Debian) and either root or
 * unprivileged user namespaces.
 */
export function sandboxProblem(): string | null {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-sandbox-probe-"));
  try {
    fs.mkdirSync(path.join(base, "root"));
    const [cmd, ...args] = sandboxed(base, [], ["true"]);
    const env = { PATH: process.env.PATH ?? "", DLC_PYTHON: python() };
    const r = spawnSync(cmd as string, args, { encoding: "utf8", env });
    if (r.error === undefined && r.status === 0) return null;
    const why = (r.error?.message ?? r.stderr ?? "").trim().split("\n").slice(-2).join(" ");
    return (
      `the grader's sandbox (Linux namespaces through unshare and setpriv, from util-linux) ` +
      `does not work here: ${why || `exit status ${r.status}`}. Run the grader as root, or ` +
      `enable unprivileged user namespaces (sysctl -w kernel.unprivileged_userns_clone=1), or ` +
      `pass --no-sandbox to grade trusted notebooks without isolation.`
    );
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
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

/** What a kernel that ran out of memory writes on its stderr (V8, the C++ runtime, libc). */
const OUT_OF_MEMORY =
  /heap out of memory|process out of memory|Reached heap limit|std::bad_alloc|Cannot allocate memory/i;

/**
 * Runs the notebook headless; never throws for what the notebook does. A kernel that dies
 * gets one more run: only a death that repeats is the notebook's (we have seen a tslab
 * kernel die once on a machine under heavy load, and never again on the same notebook).
 * Running out of memory is not chance: it is not run again.
 */
export async function runNotebook(nb: Notebook, options: RunOptions): Promise<RunResult> {
  const first = await runOnce(nb, options);
  if (first.end !== "kernel-died" || first.outOfMemory) return first;
  return { ...(await runOnce(nb, options)), rerun: true };
}

async function runOnce(nb: Notebook, options: RunOptions): Promise<RunResult> {
  const lim = limits(options.memoryMiB);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-run-"));
  // In the sandbox the folder is a tmpfs that grade-sandbox.sh makes; here, a real one.
  const work = path.join(base, "work");
  if (options.sandbox) fs.mkdirSync(path.join(base, "root"));
  else {
    for (const d of ["home", "tmp", "runtime", "figures", "checkpoints"])
      fs.mkdirSync(path.join(work, d), { recursive: true });
    // Notebooks import "dlc7/..." and tfjs: resolved from the kernel's folder upwards.
    fs.symlinkSync(path.join(root, "node_modules"), path.join(work, "node_modules"), "dir");
  }

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
    NODE_OPTIONS: `--max-old-space-size=${lim.heapMiB}`,
  });
  if (env.DLC_THREADS === undefined && options.threads !== undefined)
    env.DLC_THREADS = String(options.threads);
  let timedOut = false;
  const run = new NotebookRun({
    notebook: { json: notebookJson(nb) },
    cwd: work,
    cellTimeout: Math.max(1, Math.ceil(options.cellTimeoutSeconds)),
    keepGoing: true,
    env,
    wrap: (executor) => limited(executor, base, options, lim),
    hostKernel: !options.sandbox,
  });
  const timer = setTimeout(() => {
    timedOut = true;
    run.kill();
  }, options.timeLimitSeconds * 1000);
  const report = await run.done;
  clearTimeout(timer);
  fs.rmSync(base, { recursive: true, force: true });
  const status = report.end.status;
  const end: RunEnd = timedOut
    ? "time-limit"
    : status === "kernel died"
      ? "kernel-died"
      : status === "completed"
        ? "completed"
        : "failed";
  const cells = new Map<number, CellRun>();
  for (const [i, r] of report.cells) cells.set(i, { ...r, ...splitRecords(r.text) });
  const log = [...report.log, ...(status === "failed" ? [report.end.message ?? ""] : [])];
  return {
    cells,
    end,
    outOfMemory:
      end === "kernel-died" &&
      [...report.kernelStderr, ...report.log].some((l) => OUT_OF_MEMORY.test(l)),
    running: report.running,
    seconds: report.seconds,
    log: log.join("\n").trim(),
    work,
    rerun: false,
  };
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
