/**
 * How errors read in a notebook. tslab prints a failed cell's error with console.error;
 * for a cell without top-level await, Node's vm first puts the source line that threw above
 * the message, which for most errors is tfjs's `throw ex` in tf-core.node.js (tf.tidy
 * rethrows), and ten frames of tfjs internals follow it. In a kernel, `installErrorDisplay`
 * makes every error print its message first, then the frames of lib and of the cell, the
 * frames inside node_modules and Node folded into one count. A freed (disposed) tensor used
 * again, which tfjs reports as "Tensor is disposed." or as a TypeError deep inside its
 * engine, gets a message that names the notebook variables holding freed tensors or models
 * and says to re-run the cells that define them.
 */
import { inspect } from "node:util";
import { settings } from "../settings";
import { plural } from "../viz/format";
import { type ExecutedCell, executedCells, recordCells } from "./cells";
import { runningCellLabel } from "./interrupts";
import { inKernel, notebookVariables } from "./tslab";

/** Frames kept under the message; the rest are counted. */
const MAX_FRAMES = 8;
/** Frames recorded per error in a kernel (Node's default 10 stops inside tfjs). */
const STACK_LIMIT = 40;

/** True for the two ways tfjs reports a tensor used after it was disposed. */
export function isDisposedTensorError(e: Error): boolean {
  if (/^Tensor is disposed\.?$/.test(e.message)) return true;
  return (
    e instanceof TypeError &&
    /^Cannot read properties of undefined \(reading '(backend|id|dataId|values)'\)$/.test(
      e.message,
    ) &&
    // tfjs's frames (source-mapped ones, under tsx, name tfjs-core/src/...).
    /@tensorflow[\\/]tfjs|[\\/]tfjs-(core|backend-\w+)[\\/]/.test(e.stack ?? "")
  );
}

interface TensorLike {
  isDisposed: boolean;
  dataId: object;
}

function isTensorLike(v: unknown): v is TensorLike {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as TensorLike).isDisposed === "boolean" &&
    "dataId" in v
  );
}

/** True when `v` is or holds (a model's parameters, two levels of containers) a freed tensor. */
function holdsFreedTensor(v: unknown, depth = 2): boolean {
  if (isTensorLike(v)) return v.isDisposed;
  if (typeof v !== "object" || v === null) return false;
  const parameters = (v as { parameters?: unknown }).parameters;
  if (typeof parameters === "function") {
    try {
      const ps: unknown = parameters.call(v);
      if (Array.isArray(ps) && ps.some((p) => isTensorLike(p) && p.isDisposed)) return true;
    } catch {
      // Not one of our modules: look at its fields below.
    }
  }
  if (depth === 0) return false;
  const values: Iterable<unknown> =
    v instanceof Map ? v.values() : Array.isArray(v) ? v : Object.values(v);
  let seen = 0;
  for (const x of values) {
    if (++seen > 200) break;
    if (holdsFreedTensor(x, depth - 1)) return true;
  }
  return false;
}

/** The notebook's variables that hold a freed tensor or model, by name. */
export function freedVariables(
  variables: Record<string, unknown> | null = notebookVariables(),
): string[] {
  if (variables === null) return [];
  return Object.keys(variables).filter((k) => k !== "tsLastExpr" && holdsFreedTensor(variables[k]));
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** True when `source` uses the identifier `name`. */
function mentions(source: string, name: string): boolean {
  return new RegExp(`(^|[^\\w$.])${escapeRegExp(name)}(?![\\w$])`).test(source);
}

/** True when `source` declares `name` (const, let, var, function, class; destructuring too). */
export function declares(source: string, name: string): boolean {
  const n = escapeRegExp(name);
  const simple = new RegExp(`(^|[\\s;])(const|let|var|function\\*?|class)\\s+${n}(?![\\w$])`, "m");
  const destructured = new RegExp(
    `(^|[\\s;])(const|let|var)\\s*[[{][^=]*?(^|[^\\w$.])${n}(?![\\w$])[^=]*?[\\]}]\\s*=`,
    "m",
  );
  return simple.test(source) || destructured.test(source);
}

/** "In [7]: `const enc = ae.model.encoder;`": the cell's count and the line declaring `name`. */
function describeCell(cell: ExecutedCell, name: string): string {
  const lines = cell.source.split("\n").map((l) => l.trim());
  const line = lines.find((l) => declares(l, name)) ?? lines.find((l) => l !== "") ?? "";
  const shown = line.length > 60 ? `${line.slice(0, 59)}…` : line;
  return `In [${cell.count}]: \`${shown}\``;
}

/**
 * The message of a freed-tensor error: which variables of the running cell hold freed
 * tensors or models (all such variables when the cell names none), and the cells that
 * define them (the last executed cell that declares each), to re-run.
 */
export function freedTensorMessage(
  original: string,
  freed: readonly string[] = freedVariables(),
  cells: readonly ExecutedCell[] = executedCells(),
): string {
  const current = cells[cells.length - 1];
  const used = current === undefined ? [] : freed.filter((n) => mentions(current.source, n));
  const names = used.length > 0 ? used : freed;
  const earlier = cells.slice(0, -1);
  const where = (name: string): string => {
    const cell = [...earlier].reverse().find((c) => declares(c.source, name));
    return cell === undefined ? "" : ` (${describeCell(cell, name)})`;
  };
  const list = names.map((n) => `\`${n}\`${where(n)}`);
  const what =
    list.length === 0
      ? "this cell used a tensor or model that was freed (disposed) before: re-run the cells " +
        "that define what it uses, then this one (tf.tidy frees every tensor it does not return)"
      : list.length === 1
        ? `${list[0]} holds a tensor or model that was freed (disposed): re-run the cell that ` +
          `defines \`${names[0]}\`, then this one`
        : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]} hold tensors or models ` +
          "that were freed (disposed): re-run the cells that define them, then this one";
  return `${what}. (tfjs: ${original})`;
}

/** A frame of a cell's code: "In [7]" is the file name the kernel launcher gives a cell. */
const CELL_FRAME = /\(?In \[\d+\]:\d+:\d+\)?$|evalmachine\.<anonymous>/;

/**
 * How the kernel reports an Interrupt that no loop of ours saw, as one line: tslab ends a cell
 * that awaits ("Interrupted asynchronously"; the cell's code goes on in the background, where
 * our loops stop at their next step), Node stops a cell running synchronously. Null otherwise.
 */
export function interruptMessage(
  e: Error,
  cell: string | null = runningCellLabel(),
): string | null {
  const who = cell ?? "the cell";
  if (e.message === "Interrupted asynchronously")
    return `Interrupted: ${who} stopped while waiting`;
  if ((e as { code?: string }).code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
    return `Interrupted: ${who} stopped`;
  }
  return null;
}

/**
 * An error as a notebook shows it: "Name: message" (for a freed tensor, what to re-run),
 * then the frames of lib and the cell; frames in node_modules and Node, and those of the
 * kernel below the cell's, are counted. `root` (the project's folder) is cut from paths.
 */
export function formatError(e: Error, root: string = settings.root): string {
  const interrupted = interruptMessage(e);
  if (interrupted !== null) return interrupted;
  const message = isDisposedTensorError(e) ? freedTensorMessage(e.message) : e.message;
  const lines = [`${e.name}: ${message}`];
  const frames = (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  // Below the cell's outermost frame: tslab and the kernel launcher running it.
  const lastCell = frames.map((l) => CELL_FRAME.test(l)).lastIndexOf(true);
  const own = lastCell < 0 ? frames : frames.slice(0, lastCell + 1);
  const kept = own.filter((l) => !/node_modules|\(node:|at node:/.test(l));
  const shown = kept.slice(0, MAX_FRAMES);
  const prefix = root.endsWith("/") ? root : `${root}/`;
  for (const l of shown) lines.push(`    ${l.trim().split(prefix).join("")}`);
  const hidden = frames.length - shown.length;
  const where = kept.length === shown.length ? " inside tfjs, tslab or Node" : "";
  if (hidden > 0) lines.push(`    (${plural(hidden, "more frame")}${where})`);
  if (e.cause instanceof Error) lines.push(`Caused by ${formatError(e.cause, root)}`);
  return lines.join("\n");
}

let installed = false;

/**
 * In a tslab kernel, makes errors print as formatError says (console.error, which tslab
 * uses for a failed cell, asks util.inspect, which asks the error). Outside a kernel it
 * does nothing. Idempotent.
 */
export function installErrorDisplay(): void {
  if (installed || !inKernel()) return;
  installed = true;
  recordCells();
  Error.stackTraceLimit = Math.max(Error.stackTraceLimit, STACK_LIMIT);
  Object.defineProperty(Error.prototype, inspect.custom, {
    value: function (this: Error): string {
      return formatError(this);
    },
    configurable: true,
    writable: true,
    enumerable: false,
  });
}
