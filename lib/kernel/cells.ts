/**
 * The cells a kernel executes: recorded (so that messages can name the cell to re-run), and
 * hooks around each (the notebook context's per-cell tfjs scope). Both wrap tslab's execute
 * handler once per process: the state is kept on the process, so that a library loaded twice
 * in one kernel wraps it once.
 */
import { type ExecuteImpl, tslabJupyter } from "./tslab";

/** A cell the kernel executed: its execution count (In [n]) and source. */
export interface ExecutedCell {
  count: number;
  source: string;
}

/** What runs around every cell the kernel executes (the notebook context's cell scope). */
export interface CellHooks {
  /** Before the cell's code. */
  start(): void;
  /** After it settles (returned, failed, or was interrupted). */
  end(): void;
}

const MAX_CELLS = 1000;
const RECORDED = Symbol.for("dlc7.executedCells");
const AROUND = Symbol.for("dlc7.aroundCells");

interface Installed {
  [RECORDED]?: { cells: ExecutedCell[] };
  [AROUND]?: { hooks: CellHooks };
}
const installed = globalThis as Installed;

/** Replaces tslab's execute handler with `wrap(original)`; false outside a kernel. */
function wrapExecute(wrap: (original: ExecuteImpl) => ExecuteImpl): boolean {
  const proto = tslabJupyter()?.JupyterHandlerImpl?.prototype;
  const original = proto?.handleExecuteImpl;
  if (proto === undefined || typeof original !== "function") return false;
  proto.handleExecuteImpl = wrap(original);
  return true;
}

/**
 * Starts recording the cells the kernel executes (from now on), so that messages can name
 * the cell to re-run. It only notes the request's code and the execution count tslab gives
 * it. Returns false outside a kernel or on another tslab.
 */
export function recordCells(): boolean {
  if (installed[RECORDED] !== undefined) return true;
  const recording = { cells: [] as ExecutedCell[] };
  const wrapped = wrapExecute(
    (original) =>
      function (this, req, ...rest) {
        // Recorded first: a cell without top-level await runs (and fails) inside the call.
        const cell = { count: (this.execCount ?? 0) + 1, source: String(req.code ?? "") };
        recording.cells.push(cell);
        if (recording.cells.length > MAX_CELLS) recording.cells.shift();
        const result = original.call(this, req, ...rest);
        cell.count = this.execCount ?? cell.count; // tslab counts it before its first await
        return result;
      },
  );
  if (wrapped) installed[RECORDED] = recording;
  return wrapped;
}

/** The cells executed since recordCells(), oldest first (the last one is running now). */
export function executedCells(): readonly ExecutedCell[] {
  return installed[RECORDED]?.cells ?? [];
}

/**
 * Calls `hooks` around every cell executed from now on (once per process: later calls
 * replace the hooks). Returns false outside a kernel.
 */
export function aroundCells(hooks: CellHooks): boolean {
  const current = installed[AROUND];
  if (current !== undefined) {
    current.hooks = hooks;
    return true;
  }
  const around = { hooks };
  const wrapped = wrapExecute(
    (original) =>
      function (this, req, ...rest) {
        around.hooks.start();
        let result: unknown;
        try {
          result = original.call(this, req, ...rest);
        } catch (e) {
          around.hooks.end();
          throw e;
        }
        return Promise.resolve(result).finally(() => around.hooks.end());
      },
  );
  if (wrapped) installed[AROUND] = around;
  return wrapped;
}
