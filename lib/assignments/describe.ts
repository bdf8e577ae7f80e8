/**
 * Short, readable descriptions of the values a check compares: a tensor is its shape,
 * dtype and values (all of them when few, else the first ones and min / max / mean), so
 * that a failed check says what was expected and what came back in a line or two.
 */
import * as tf from "@tensorflow/tfjs";

/** Values shown in full when a tensor or array holds at most this many. */
const FULL = 16;

/** Integers exactly, other numbers to 4 significant digits: 56225, 0.8123, -2.5, 1e-7. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return "0";
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e6) return String(Number(x.toPrecision(4)));
  return x.toExponential(2).replace(/\.?0+e/, "e");
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** A numeric value as a shape and flat values (row-major); null when it is not numeric. */
export interface Numeric {
  shape: number[];
  values: Float64Array;
  dtype: string;
}

/** Shape and values of a tensor, a number or a rectangular nested array of numbers. */
export function toNumeric(v: unknown): Numeric | null {
  if (v instanceof tf.Tensor) {
    if (v.isDisposed) return null;
    if (v.dtype === "string" || v.dtype === "complex64") return null;
    return { shape: v.shape.slice(), values: Float64Array.from(v.dataSync()), dtype: v.dtype };
  }
  if (typeof v === "number") return { shape: [], values: Float64Array.of(v), dtype: "number" };
  if (!Array.isArray(v)) return null;
  const shape: number[] = [];
  for (let level: unknown = v; Array.isArray(level); level = level[0]) shape.push(level.length);
  const flat: number[] = [];
  const walk = (x: unknown, depth: number): boolean => {
    if (depth === shape.length) {
      if (typeof x !== "number") return false;
      flat.push(x);
      return true;
    }
    return Array.isArray(x) && x.length === shape[depth] && x.every((y) => walk(y, depth + 1));
  };
  if (!walk(v, 0)) return null;
  return { shape, values: Float64Array.from(flat), dtype: "array" };
}

function nested(values: Float64Array, shape: readonly number[]): string {
  if (shape.length === 0) return formatNumber(values[0] ?? NaN);
  const [n, ...rest] = shape as [number, ...number[]];
  const stride = rest.reduce((a, b) => a * b, 1);
  const parts: string[] = [];
  for (let i = 0; i < n; i++)
    parts.push(nested(values.subarray(i * stride, (i + 1) * stride), rest));
  return `[${parts.join(", ")}]`;
}

/**
 * "tensor [2, 3] float32 [[1, 2, 3], [4, 5, 6]]", "[1, 2, 3]" for an array, "2.5" for a
 * number; for many values, the first ones and min / max / mean.
 */
export function describeNumeric(n: Numeric): string {
  const head =
    n.dtype === "number"
      ? ""
      : n.dtype === "array"
        ? n.values.length <= FULL
          ? ""
          : `array ${formatShape(n.shape)} `
        : `tensor ${formatShape(n.shape)} ${n.dtype} `;
  if (n.values.length <= FULL) return `${head}${nested(n.values, n.shape)}`;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of n.values) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  const first = Array.from(n.values.subarray(0, 6), formatNumber).join(", ");
  return (
    `${head}[${first}, …] (${n.values.length} values, min ${formatNumber(min)}, ` +
    `max ${formatNumber(max)}, mean ${formatNumber(sum / n.values.length)})`
  );
}

/** Any value, described in one line for a check's message. */
export function describeValue(v: unknown): string {
  if (v instanceof tf.Tensor) {
    if (v.isDisposed)
      return `a disposed tensor ${formatShape(v.shape)} (it was freed: do not dispose a result you return)`;
    const n = toNumeric(v);
    return n === null
      ? `tensor ${formatShape(v.shape)} ${v.dtype}`
      : `tensor ${describeNumeric(n)}`;
  }
  if (v === undefined) return "undefined (did the function forget to return its result?)";
  if (v === null) return "null";
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "function") return `a function (${v.name || "anonymous"}): call it`;
  if (Array.isArray(v)) {
    const n = toNumeric(v);
    if (n !== null) return describeNumeric(n);
    const shown = v.slice(0, 6).map((x) => describeValue(x));
    return `[${shown.join(", ")}${v.length > 6 ? `, … (${v.length} items)` : ""}]`;
  }
  const name = (v as object).constructor?.name ?? "object";
  const keys = Object.keys(v as object).slice(0, 8);
  return `${name === "Object" ? "object" : `a ${name}`} {${keys.join(", ")}}`;
}
