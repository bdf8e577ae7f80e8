/**
 * The module system: PyTorch-like modules over tfjs. Modules hold tf.Variables in
 * PyTorch's shapes, compose into trees (named children, as PyTorch's `_modules`), print
 * themselves in PyTorch's repr form, load and export state dicts with PyTorch's names, and
 * free their variables on dispose().
 *
 * `forward(x)` takes and returns PyTorch's layout ([N, C, H, W]). Inside, tfjs wants
 * channels last, so every module also has `forwardChannelsLast(x)`: Sequential chains those
 * and converts only at its boundaries. A module implements one of the two; the other
 * converts around it.
 */
import * as tf from "@tensorflow/tfjs";
import { fromChannelsLast, toChannelsLast } from "./layout";

/** One parameter of a state dict: its shape and its values, flat, in row-major order. */
export interface StateEntry {
  shape: number[];
  values: Float32Array;
}

/** Parameters by PyTorch name ("encoder.0.weight"), as plain float32 arrays. */
export type StateDict = Map<string, StateEntry>;

/** What loadStateDict accepts: a StateDict, or a Map or plain object of tensors or entries. */
export type StateDictInput =
  ReadonlyMap<string, StateEntry | tf.Tensor> | Readonly<Record<string, StateEntry | tf.Tensor>>;

export abstract class Module {
  /** The class name printed in describe(), e.g. "Conv2d". */
  abstract readonly name: string;

  /** The module's output for x in PyTorch's layout ([N, C, H, W], [N, C, W] or [N, F]). */
  forward(x: tf.Tensor): tf.Tensor {
    if (this.forwardChannelsLast === Module.prototype.forwardChannelsLast) {
      throw new Error(`${this.name}: implement forward or forwardChannelsLast`);
    }
    return tf.tidy(() => fromChannelsLast(this.forwardChannelsLast(toChannelsLast(x))));
  }

  /** The same on channels-last tensors ([N, H, W, C], [N, W, C] or [N, F]): lib/nn inside only. */
  forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    if (this.forward === Module.prototype.forward) {
      throw new Error(`${this.name}: implement forward or forwardChannelsLast`);
    }
    return tf.tidy(() => toChannelsLast(this.forward(fromChannelsLast(x))));
  }

  /** This module's own parameters, in PyTorch order (weight, then bias). */
  protected ownParameters(): Array<[string, tf.Variable]> {
    return [];
  }

  /** Named sub-modules, in order. */
  children(): Array<[string, Module]> {
    return [];
  }

  /** The text inside the parentheses of a leaf's repr, e.g. "1, 32, kernel_size=(5, 5)". */
  extraRepr(): string {
    return "";
  }

  /** Every parameter with its dotted path ("encoder.0.weight"), own first, then children's. */
  namedParameters(prefix = ""): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = this.ownParameters().map(
      ([n, v]): [string, tf.Variable] => [prefix + n, v],
    );
    for (const [childName, child] of this.children()) {
      out.push(...child.namedParameters(`${prefix}${childName}.`));
    }
    return out;
  }

  /** Every trainable variable, for the optimiser. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** The number of scalar parameters. */
  parameterCount(): number {
    return this.parameters().reduce((sum, v) => sum + v.size, 0);
  }

  /** A copy of every parameter by name, as PyTorch's state_dict(). */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [name, v] of this.namedParameters()) {
      out.set(name, { shape: [...v.shape], values: Float32Array.from(v.dataSync()) });
    }
    return out;
  }

  /**
   * Copies a state dict into the parameters, as PyTorch's load_state_dict(strict=True):
   * every name must match with its shape, and every value must be finite. Takes a StateDict,
   * or a Map or plain object of tensors or `{ shape, values }` entries. Everything is checked
   * before anything is assigned, so the module is untouched when it throws.
   */
  loadStateDict(dict: StateDictInput): void {
    const state = toStateDict(dict, `${this.name}.loadStateDict`);
    const named = this.namedParameters();
    const missing = named.filter(([n]) => !state.has(n)).map(([n]) => n);
    const known = new Set(named.map(([n]) => n));
    const unexpected = [...state.keys()].filter((n) => !known.has(n));
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`Missing key(s): ${missing.join(", ")}`);
    if (unexpected.length > 0) problems.push(`Unexpected key(s): ${unexpected.join(", ")}`);
    for (const [n, v] of named) {
      const entry = state.get(n);
      if (entry === undefined) continue;
      const same =
        entry.shape.length === v.shape.length && entry.shape.every((s, i) => s === v.shape[i]);
      if (!same || entry.values.length !== v.size) {
        problems.push(
          `size mismatch for ${n}: copying a param with shape [${entry.shape.join(", ")}] ` +
            `(${entry.values.length} values), the shape in the current model is ` +
            `[${v.shape.join(", ")}] (${v.size} values)`,
        );
      }
    }
    if (problems.length > 0) {
      throw new Error(
        `${this.name}.loadStateDict: ${problems.join("; ")}. Check that the state dict comes from the same architecture.`,
      );
    }
    const bad = nonFinite(state);
    if (bad !== null)
      throw new Error(`${this.name}.loadStateDict: ${bad}; the module is untouched`);
    for (const [n, v] of named) {
      const entry = state.get(n) as StateEntry;
      tf.tidy(() => v.assign(tf.tensor(entry.values, v.shape, "float32")));
    }
  }

  /** PyTorch's repr: `Name(extra)` for a leaf, nested `(key): child` lines otherwise. */
  describe(): string {
    const lines: string[] = [];
    const extra = this.extraRepr();
    if (extra !== "") lines.push(...extra.split("\n"));
    for (const [key, child] of this.children()) {
      lines.push(`(${key}): ${indentTail(child.describe(), 2)}`);
    }
    if (lines.length === 0) return `${this.name}()`;
    if (lines.length === 1 && this.children().length === 0) return `${this.name}(${lines[0]})`;
    return `${this.name}(\n  ${lines.join("\n  ")}\n)`;
  }

  toString(): string {
    return this.describe();
  }

  /** Frees every variable of this module and its children. */
  dispose(): void {
    for (const v of this.parameters()) v.dispose();
  }
}

/** PyTorch's _addindent: indents every line but the first. */
function indentTail(text: string, spaces: number): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line, i) => (i === 0 ? line : pad + line))
    .join("\n");
}

const ACCEPTED =
  "a Map or a plain object from parameter names to tensors or { shape: number[], values: Float32Array }";

/** A state dict in any accepted form as a StateDict (tensors read once); a TypeError otherwise. */
function toStateDict(dict: unknown, who: string): StateDict {
  let entries: Array<[unknown, unknown]>;
  if (dict instanceof Map) entries = [...(dict as Map<unknown, unknown>)];
  else if (
    dict !== null &&
    typeof dict === "object" &&
    Object.getPrototypeOf(dict) === Object.prototype
  )
    entries = Object.entries(dict);
  else {
    const got =
      dict === null
        ? "null"
        : typeof dict === "object"
          ? (dict.constructor?.name ?? "an object")
          : typeof dict;
    throw new TypeError(`${who}: got ${got}; a state dict is ${ACCEPTED}`);
  }
  const out: StateDict = new Map();
  for (const [name, value] of entries) {
    if (typeof name !== "string")
      throw new TypeError(`${who}: key ${String(name)} is not a name; a state dict is ${ACCEPTED}`);
    if (value instanceof tf.Tensor) {
      if (value.isDisposed) throw new TypeError(`${who}: tensor "${name}" has been disposed`);
      out.set(name, { shape: [...value.shape], values: Float32Array.from(value.dataSync()) });
      continue;
    }
    const e = value as Partial<StateEntry> | null;
    if (
      e === null ||
      typeof e !== "object" ||
      !Array.isArray(e.shape) ||
      !e.shape.every((s) => Number.isInteger(s) && s >= 0) ||
      !(e.values instanceof Float32Array)
    ) {
      throw new TypeError(
        `${who}: "${name}" is neither a tensor nor { shape, values: Float32Array }; a state dict is ${ACCEPTED}`,
      );
    }
    out.set(name, { shape: e.shape, values: e.values });
  }
  return out;
}

/**
 * The first entry holding NaN or ±Infinity, said in words ("encoder.0.weight holds NaN (value 7
 * of 800)"), or null when every value is finite. A diverged training's weights are refused on
 * load as they are on save.
 */
export function nonFinite(dict: StateDict): string | null {
  for (const [name, e] of dict) {
    const i = e.values.findIndex((x) => !Number.isFinite(x));
    if (i >= 0)
      return `parameter ${name} holds ${e.values[i]} (value ${i + 1} of ${e.values.length}): weights of a diverged training, not loaded`;
  }
  return null;
}
