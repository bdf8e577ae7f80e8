/**
 * The assertions a check's body makes. Each throws a CheckFailure that carries what was
 * compared, the expected and the actual value (described, never as a stack trace), which
 * `check` prints under the failed test's line.
 */
import * as tf from "@tensorflow/tfjs";
import {
  type Numeric,
  describeNumeric,
  describeValue,
  formatNumber,
  formatShape,
  toNumeric,
} from "./describe";

/** A failed expectation: `what` failed, with the expected and actual values described. */
export class CheckFailure extends Error {
  constructor(
    readonly what: string,
    readonly expected: string | null = null,
    readonly actual: string | null = null,
    readonly detail: string | null = null,
  ) {
    super(
      (expected === null ? what : `${what}: expected ${expected}, got ${actual}`) +
        (detail === null ? "" : `; ${detail}`),
    );
    this.name = "CheckFailure";
  }
}

/** Absolute and relative tolerance: |actual - expected| <= atol + rtol * |expected|. */
export interface Tolerance {
  atol?: number;
  rtol?: number;
}

function numericOrFail(what: string, actual: unknown, expected: Numeric): Numeric {
  const n = toNumeric(actual);
  if (n === null)
    throw new CheckFailure(what, `a tensor ${formatShape(expected.shape)}`, describeValue(actual));
  return n;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Row-major multi-index of flat position i in a tensor of the given shape. */
function indexOf(i: number, shape: readonly number[]): number[] {
  const idx: number[] = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = i % n;
    i = Math.floor(i / n);
  }
  return idx;
}

/** The value (a tensor or a nested array) has the given shape. */
export function expectShape(actual: unknown, shape: readonly number[], what = "shape"): void {
  const got =
    actual instanceof tf.Tensor && !actual.isDisposed
      ? actual.shape
      : (toNumeric(actual)?.shape ?? null);
  if (got === null) throw new CheckFailure(what, formatShape(shape), describeValue(actual));
  if (!sameShape(got, shape)) throw new CheckFailure(what, formatShape(shape), formatShape(got));
}

/**
 * The value equals the expected one within a tolerance (default 1e-4 absolute plus 1e-4
 * relative, for float32 sums): shapes are compared first, then every value; NaN only
 * matches NaN.
 */
export function expectClose(
  actual: unknown,
  expected: unknown,
  options: Tolerance & { what?: string } = {},
): void {
  const { atol = 1e-4, rtol = 1e-4, what = "values" } = options;
  const e = toNumeric(expected);
  if (e === null) throw new Error(`expectClose: the expected value is not numeric (a test bug)`);
  const a = numericOrFail(what, actual, e);
  if (!sameShape(a.shape, e.shape))
    throw new CheckFailure("shape", formatShape(e.shape), formatShape(a.shape));
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < e.values.length; i++) {
    const x = a.values[i]!;
    const y = e.values[i]!;
    const excess = Number.isNaN(y)
      ? Number.isNaN(x)
        ? -1
        : Infinity
      : Number.isNaN(x)
        ? Infinity
        : Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > 0) {
      bad++;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (bad === 0) return;
  const at = e.shape.length === 0 ? "" : ` at ${formatShape(indexOf(worst, e.shape))}`;
  throw new CheckFailure(
    what,
    describeNumeric(e),
    describeNumeric(a),
    `${bad} of ${e.values.length} value(s) differ; worst${at}: expected ` +
      `${formatNumber(e.values[worst]!)}, got ${formatNumber(a.values[worst]!)} ` +
      `(tolerance ${formatNumber(atol)} + ${formatNumber(rtol)}·|expected|)`,
  );
}

function plain(v: unknown): unknown {
  if (v instanceof tf.Tensor && !v.isDisposed) return v.arraySync();
  return v;
}

/** Exact equality of numbers, strings, booleans, arrays, plain objects and tensors. */
export function expectEqual(actual: unknown, expected: unknown, what = "value"): void {
  if (JSON.stringify(plain(actual)) === JSON.stringify(plain(expected))) return;
  const e = toNumeric(expected);
  const a = toNumeric(actual);
  if (e !== null && a !== null && !sameShape(a.shape, e.shape))
    throw new CheckFailure("shape", formatShape(e.shape), formatShape(a.shape));
  throw new CheckFailure(what, describeValue(expected), describeValue(actual));
}

/** A condition the test states in words: `what` is printed when it does not hold. */
export function expectTrue(condition: boolean, what: string, detail: string | null = null): void {
  if (!condition) throw new CheckFailure(what, null, null, detail);
}
