/**
 * Runs a notebook through tools/execute_notebook.py, the one executor, for the main job
 * (run-notebooks.ts) and the grader (assign-run.ts): reads its events as they come, so that
 * a run stopped or killed keeps what ran; stops or kills it; and kills the kernel's process
 * group should the executor end without doing so.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { Readable } from "node:stream";

export const root = path.resolve(__dirname, "..");

/** The Python that runs Jupyter (tools/setup.sh exports DLC_PYTHON). */
export function python(): string {
  return process.env.DLC_PYTHON ?? "/usr/bin/python3";
}

export interface CellRecord {
  status: "ok" | "error" | "timeout";
  seconds: number;
  /** What the cell printed. */
  text: string;
  /** Its stderr and errors (tslab prints a failing cell's error there). */
  error: string;
}

/** How the run ended (tools/execute_notebook.py). */
export interface RunEnd {
  status: "completed" | "failed" | "timeout" | "kernel died" | "interrupted";
  /** The cell that ended the run, or the last one started; null before any. */
  cell: number | null;
  /** What happened, in one line (null when completed). */
  message: string | null;
  /** The source of `cell`. */
  source: string | null;
}

export type ExecutorEvent =
  | { event: "kernel"; pid: number; codeCells: number[] }
  | { event: "start"; cell: number }
  | { event: "stderr"; text: string }
  | ({ event: "cell"; cell: number } & CellRecord)
  | ({ event: "end" } & RunEnd);

export interface NotebookRunOptions {
  /** The notebook's file, or its JSON, sent on stdin (never a file the kernel could read). */
  notebook: { file: string } | { json: string };
  /** The kernel's working folder. */
  cwd: string;
  /** Where the executor writes the executed notebook. */
  output?: string;
  cellTimeout: number | null;
  /** Run every cell whatever failed before (else a failed or timed-out cell ends the run). */
  keepGoing: boolean;
  env: NodeJS.ProcessEnv;
  /**
   * The executor's command line inside another (the grader's limits and sandbox) that ends
   * with this process; without it, the executor is told to end with this process.
   */
  wrap?: (executor: string[]) => string[];
  /** The kernel's pid is one of this machine's, not of a sandbox's namespace. */
  hostKernel: boolean;
  onEvent?: (event: ExecutorEvent) => void;
  /** A line the executor wrote on its own stderr. */
  onLog?: (line: string) => void;
}

export interface NotebookRunReport {
  end: RunEnd;
  cells: Map<number, CellRecord>;
  /** The cell started last, if it did not finish. */
  running: number | null;
  /** The kernel's last lines on stderr. */
  kernelStderr: string[];
  /** The last lines of the executor's stderr and the kernel's, in the order they came. */
  log: string[];
  seconds: number;
}

/** Calls `onLine` with each whole line of `stream` (a chunk may end in the middle of one). */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream.on("end", () => pending !== "" && onLine(pending));
}

function killGroup(pid: number | null, signal: NodeJS.Signals): void {
  try {
    if (pid !== null && pid > 1) process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

function keepLast(lines: string[], line: string, n: number): void {
  lines.push(line);
  if (lines.length > n) lines.shift();
}

/** One run of the executor, in a process group of its own; `done` resolves when it ended. */
export class NotebookRun {
  readonly done: Promise<NotebookRunReport>;
  private readonly pid: number | null;
  private kernelPid: number | null = null;
  private escalation: NodeJS.Timeout | null = null;

  constructor(o: NotebookRunOptions) {
    const executor = [
      python(),
      path.join(root, "tools", "execute_notebook.py"),
      "file" in o.notebook ? o.notebook.file : "-",
      "--cwd",
      o.cwd,
      ...(o.output === undefined ? [] : ["--output", o.output]),
      ...(o.cellTimeout === null ? [] : ["--cell-timeout", String(o.cellTimeout)]),
      ...(o.keepGoing ? ["--keep-going"] : []),
      ...(o.wrap === undefined ? ["--parent", String(process.pid)] : []),
    ];
    const [cmd, ...args] = o.wrap?.(executor) ?? executor;
    const t0 = Date.now();
    let end: RunEnd | null = null;
    const report: Omit<NotebookRunReport, "end"> = {
      cells: new Map(),
      running: null,
      kernelStderr: [],
      log: [],
      seconds: 0,
    };
    const log = (line: string): void => {
      if (line.trim() === "") return;
      keepLast(report.log, line, 30);
      o.onLog?.(line);
    };
    // A group of its own, which a kill reaches whole (in the grader: the sandbox's processes).
    const child = spawn(cmd as string, args, { env: o.env, detached: true });
    this.pid = child.pid ?? null;
    child.stdin.on("error", () => undefined); // an executor that could not start
    child.stdin.end("json" in o.notebook ? o.notebook.json : "");
    onLines(child.stdout, (line) => {
      let e: ExecutorEvent;
      try {
        e = JSON.parse(line) as ExecutorEvent;
      } catch {
        return log(line);
      }
      if (e.event === "kernel" && o.hostKernel) this.kernelPid = e.pid;
      else if (e.event === "start") report.running = e.cell;
      else if (e.event === "stderr") {
        keepLast(report.kernelStderr, e.text, 100);
        keepLast(report.log, e.text, 30);
      } else if (e.event === "cell") {
        const { event, cell, ...record } = e;
        report.cells.set(cell, record);
        report.running = null;
      } else if (e.event === "end") {
        const { event, ...rest } = e;
        end = rest;
      }
      o.onEvent?.(e);
    });
    onLines(child.stderr, log);
    child.on("error", (e) => log(`cannot start ${cmd}: ${e.message}`));
    this.done = new Promise((resolve) =>
      child.on("close", (code, signal) => {
        if (this.escalation !== null) clearTimeout(this.escalation);
        const how = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
        end ??= {
          status: "failed",
          cell: report.running,
          message: `the notebook executor ended (${how}) without a result: ${report.log.slice(-3).join(" / ")}`,
          source: null,
        };
        killGroup(this.kernelPid, "SIGKILL"); // what an executor that crashed left behind
        report.seconds = (Date.now() - t0) / 1000;
        resolve({ ...report, end });
      }),
    );
  }

  /** The executor stops the kernel and says "interrupted"; both are killed after `graceMs`. */
  stop(graceMs: number): void {
    killGroup(this.pid, "SIGTERM");
    this.escalation ??= setTimeout(() => this.kill(), graceMs);
  }

  /** Kills the executor, what it started, and the kernel's group, at once. */
  kill(): void {
    killGroup(this.pid, "SIGKILL");
    killGroup(this.kernelPid, "SIGKILL");
  }
}
