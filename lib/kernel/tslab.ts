/**
 * tslab as the running kernel loaded it: the one place that knows where tslab keeps what the
 * library uses (its jupyter module, the notebook's variables). Outside a kernel (scripts,
 * tests) every answer here says so: null or false.
 */
import * as path from "node:path";

/** A Jupyter mime bundle: mime type -> string (binary data base64-encoded) or JSON. */
export type MimeBundle = Record<string, string | object>;

/** A display_data message as tslab's output writer takes it. */
export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

export type WriteDisplayData = (message: DisplayMessage, update: boolean) => void;

/** tslab's handler of an execute request (`this` is tslab's JupyterHandlerImpl). */
export type ExecuteImpl = (
  this: { execCount?: number },
  req: { code?: string },
  ...rest: unknown[]
) => unknown;

/** The part of tslab's jupyter module (dist/jupyter.js) the library uses. */
export interface TslabJupyterModule {
  /** The output writer of the cell running now; null before the first cell. */
  lastWriteDisplayData: WriteDisplayData | null;
  JupyterHandlerImpl?: { prototype: { handleExecuteImpl?: ExecuteImpl } };
}

interface TslabGlobal {
  __tslab__?: { require: NodeRequire; exports?: Record<string, unknown> };
}

let cachedJupyter: TslabJupyterModule | null | undefined;

/**
 * tslab's jupyter module as loaded by the running kernel, or null outside a kernel. The
 * kernel may be a global tslab install, so this is the module instance the kernel itself
 * loaded (found through the require hook it installs for cells), not our own.
 */
export function tslabJupyter(): TslabJupyterModule | null {
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

/** True inside a tslab kernel process (whether or not a cell is running). */
export function inKernel(): boolean {
  return tslabJupyter() !== null;
}

/**
 * An opaque token of the cell execution running now (null outside a kernel or before the
 * first cell): tslab makes a new output writer for every execute request, so two calls
 * return the same token exactly when they run in the same execution.
 */
export function currentExecution(): object | null {
  return tslabJupyter()?.lastWriteDisplayData ?? null;
}

/** The notebook's top-level variables (tslab keeps them on one object); null outside a kernel. */
export function notebookVariables(): Record<string, unknown> | null {
  return (globalThis as TslabGlobal).__tslab__?.exports ?? null;
}
