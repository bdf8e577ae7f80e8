/**
 * Talks to the tslab kernel, when there is one, to put rich output in the notebook.
 *
 * tslab's public `display` sends one mime type per message. A chart needs a bundle
 * (vega-lite for JupyterLab, PNG for every other viewer) in ONE display_data, so that
 * each front end draws it exactly once; tslab's `jupyter.lastWriteDisplayData` (the
 * function its public `display` calls) takes a whole bundle, so we call it directly.
 */
import * as path from "node:path";

/** A Jupyter mime bundle: mime type -> string (binary data base64-encoded) or JSON. */
export type MimeBundle = Record<string, string | object>;

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

type WriteDisplayData = (message: DisplayMessage, update: boolean) => void;

type ExecuteImpl = (
  this: { execCount?: number },
  req: { code?: string },
  ...rest: unknown[]
) => unknown;

interface TslabJupyterModule {
  lastWriteDisplayData: WriteDisplayData | null;
  JupyterHandlerImpl?: { prototype: { handleExecuteImpl?: ExecuteImpl } };
}

interface TslabGlobal {
  __tslab__?: { require: NodeRequire; exports?: Record<string, unknown> };
}

let cachedJupyter: TslabJupyterModule | null | undefined;

/**
 * tslab's jupyter module as loaded by the running kernel, or null outside a kernel.
 * The kernel may be a global tslab install, so we take the module instance the kernel
 * itself loaded (found through the require hook it installs for cells), not our own.
 */
function kernelJupyter(): TslabJupyterModule | null {
  if (cachedJupyter !== undefined) return cachedJupyter;
  cachedJupyter = null;
  const hook = (globalThis as TslabGlobal).__tslab__;
  if (hook === undefined) return null;
  try {
    const publicModule: unknown = hook.require("tslab");
    for (const [file, mod] of Object.entries(require.cache)) {
      if (mod === undefined || mod.exports !== publicModule) continue;
      const jupyterFile = path.join(path.dirname(file), "jupyter.js");
      const jupyter = require.cache[jupyterFile]?.exports as TslabJupyterModule | undefined;
      if (jupyter !== undefined && "lastWriteDisplayData" in jupyter) cachedJupyter = jupyter;
      break;
    }
  } catch {
    cachedJupyter = null;
  }
  return cachedJupyter;
}

/** True while running inside a tslab kernel that is executing a cell. */
export function inNotebook(): boolean {
  const jupyter = kernelJupyter();
  return jupyter !== null && jupyter.lastWriteDisplayData !== null;
}

/** True inside a tslab kernel process (whether or not a cell is running). */
export function inKernel(): boolean {
  return kernelJupyter() !== null;
}

/**
 * An opaque token of the cell execution running now (null outside a kernel or before the
 * first cell): tslab makes a new output writer for every execute request, so two calls
 * return the same token exactly when they run in the same execution.
 */
export function currentExecution(): object | null {
  return kernelJupyter()?.lastWriteDisplayData ?? null;
}

/**
 * The counters the project's kernel launcher (tools/kernel/interrupts.cjs) keeps in shared
 * memory, written by a thread of its own, so that a loop sees Interrupt while JavaScript runs
 * synchronously (a signal handler would wait for the event loop): [0] the SIGINTs received,
 * [1] what [0] was when the cells running now (one cell, or a Run All) were sent, [2] the
 * execution count of the running cell.
 */
const KERNEL_COUNTERS = Symbol.for("dlc7.kernel.interrupts");

function kernelCounters(): Int32Array | null {
  const counters = (globalThis as { [KERNEL_COUNTERS]?: unknown })[KERNEL_COUNTERS];
  return counters instanceof Int32Array && counters.length >= 3 ? counters : null;
}

/**
 * True when Interrupt was pressed since the cells running now were sent (the cell, or the
 * rest of a Run All). False outside the project's kernel. One read of shared memory: cheap
 * enough for every step of a loop.
 */
export function interruptPending(): boolean {
  const c = kernelCounters();
  return c !== null && Atomics.load(c, 0) !== Atomics.load(c, 1);
}

/** "In [7]" for the cell running now in the project's kernel; null elsewhere. */
export function runningCellLabel(): string | null {
  const c = kernelCounters();
  const count = c === null ? 0 : Atomics.load(c, 2);
  return count > 0 ? `In [${count}]` : null;
}

/** A cell the kernel executed: its execution count (In [n]) and source. */
export interface ExecutedCell {
  count: number;
  source: string;
}

const MAX_CELLS = 1000;
/** Kept on the process, so that a lib loaded twice in one kernel records the cells once. */
const RECORDED = Symbol.for("dlc7.executedCells");
type Recording = { cells: ExecutedCell[] };

/**
 * Starts recording the cells the kernel executes (from now on), so that messages can name
 * the cell to re-run. Wraps tslab's execute handler: it only notes the request's code and
 * the execution count tslab gives it. Returns false outside a kernel or on another tslab.
 */
export function recordCells(): boolean {
  const store = globalThis as { [RECORDED]?: Recording };
  if (store[RECORDED] !== undefined) return true;
  const proto = kernelJupyter()?.JupyterHandlerImpl?.prototype;
  const original = proto?.handleExecuteImpl;
  if (proto === undefined || typeof original !== "function") return false;
  const recording: Recording = { cells: [] };
  proto.handleExecuteImpl = function (this, req, ...rest) {
    // Recorded first: a cell without top-level await runs (and fails) inside the call.
    const cell = { count: (this.execCount ?? 0) + 1, source: String(req.code ?? "") };
    recording.cells.push(cell);
    if (recording.cells.length > MAX_CELLS) recording.cells.shift();
    const result = original.call(this, req, ...rest);
    cell.count = this.execCount ?? cell.count; // tslab counts it before its first await
    return result;
  };
  store[RECORDED] = recording;
  return true;
}

/** The cells executed since recordCells(), oldest first (the last one is running now). */
export function executedCells(): readonly ExecutedCell[] {
  return (globalThis as { [RECORDED]?: Recording })[RECORDED]?.cells ?? [];
}

/** The notebook's top-level variables (tslab keeps them on one object); null outside a kernel. */
export function notebookVariables(): Record<string, unknown> | null {
  const hook = (globalThis as TslabGlobal).__tslab__;
  return hook?.exports ?? null;
}

/**
 * Publishes one display_data message carrying every mime type of `bundle`.
 * With `displayId`, the first call (update false) creates the output and later calls
 * with the same id and update true replace it in place. Throws outside a notebook.
 */
export function publish(
  bundle: MimeBundle,
  options: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> } = {},
): void {
  const write = kernelJupyter()?.lastWriteDisplayData;
  if (write === null || write === undefined) {
    throw new Error(
      "publish: not running inside a tslab notebook kernel (check inNotebook() first)",
    );
  }
  const message: DisplayMessage = { data: bundle, metadata: options.metadata ?? {} };
  if (options.displayId !== undefined) message.transient = { display_id: options.displayId };
  write(message, options.update ?? false);
}

/** Base64 of binary data, the encoding Jupyter expects for image/png. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

let displayCounter = 0;

/** A display id unique within this process (no randomness: outputs stay reproducible). */
export function newDisplayId(): string {
  displayCounter += 1;
  return `dlc7-${process.pid}-${displayCounter}`;
}

/** What runs around every cell the kernel executes (the notebook context's cell scope). */
export interface CellHooks {
  /** Before the cell's code. */
  start(): void;
  /** After it settles (returned, failed, or was interrupted). */
  end(): void;
}

const AROUND = Symbol.for("dlc7.aroundCells");

/**
 * Calls `hooks` around every cell executed from now on (once per process: later calls
 * replace the hooks). Wraps tslab's execute handler; returns false outside a kernel.
 */
export function aroundCells(hooks: CellHooks): boolean {
  const store = globalThis as { [AROUND]?: { hooks: CellHooks } };
  if (store[AROUND] !== undefined) {
    store[AROUND].hooks = hooks;
    return true;
  }
  const proto = kernelJupyter()?.JupyterHandlerImpl?.prototype;
  const original = proto?.handleExecuteImpl;
  if (proto === undefined || typeof original !== "function") return false;
  const installed = { hooks };
  proto.handleExecuteImpl = function (this, req, ...rest) {
    installed.hooks.start();
    let result: unknown;
    try {
      result = original.call(this, req, ...rest);
    } catch (e) {
      installed.hooks.end();
      throw e;
    }
    return Promise.resolve(result).finally(() => installed.hooks.end());
  };
  store[AROUND] = installed;
  return true;
}
