/**
 * The harness of the backend tests: random inputs, running one function on several backends
 * ("wasm" is the wasm backend with its native kernels off, "native" with them on), and the
 * relative error between their outputs.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { setNativeKernels } from "../../lib/backend/native-kernels";
import { Rng } from "../../lib/random";

export type TestBackend = "cpu" | "wasm" | "native" | "webgpu";

/** Max abs difference over max abs reference value (or over 1e-6 when the reference is 0). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, "lengths differ");
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / Math.max(scale, 1e-6);
}

export function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Runs fn on a backend and reads its outputs asynchronously (webgpu has no sync read). */
export async function on(backend: TestBackend, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  const previous = setNativeKernels(backend === "native");
  try {
    await tf.setBackend(backend === "native" ? "wasm" : backend);
    const outs = tf.tidy(fn);
    const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(outs);
    return values;
  } finally {
    setNativeKernels(previous);
  }
}

/** fn on `backend` and on cpu: every output within tol of the cpu's; the label names the case. */
export async function agree(
  backend: TestBackend,
  label: string,
  fn: () => tf.Tensor[],
  tol: number,
): Promise<void> {
  const want = await on("cpu", fn);
  let got: Float32Array[];
  try {
    got = await on(backend, fn);
  } catch (e) {
    throw new Error(`${label} on ${backend}: ${(e as Error).message}`);
  }
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const e = relErr(got[i] as Float32Array, want[i] as Float32Array);
    assert.ok(
      e <= tol,
      `${label} on ${backend}, output ${i}: relative error ${e.toExponential(2)}`,
    );
  }
}

/** Gradients of sum(f(inputs) * r) for a fixed weighting r: every input gets a non-trivial one. */
export function weightedGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
): tf.Tensor[] {
  const y = f(...inputs);
  const r = tf.sin(tf.range(0, y.size).reshape(y.shape));
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
  return [y, ...grads];
}

type Pad = "valid" | "same" | number | [[0, 0], [number, number], [number, number], [0, 0]];

/** A random 2-D convolution as tfjs takes it: NHWC input x, filter [kh, kw, C, O]. */
export interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  rounding?: "floor" | "round" | "ceil";
}

/**
 * Batches of 1-3, up to 8 channels in and 4 out, kernels up to 4, strides up to 3 or
 * dilations up to 2 (tfjs takes one or the other), the four kinds of padding; a non-empty
 * output.
 */
export function randomConvCase(rng: Rng): ConvCase {
  for (;;) {
    const k = [1 + rng.int(4), 1 + rng.int(4)];
    const c = 1 + rng.int(8);
    const o = 1 + rng.int(4);
    const x: ConvCase["x"] = [1 + rng.int(3), 4 + rng.int(9), 4 + rng.int(9), c];
    const strides: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const dilate = rng.int(3) === 0;
    const dilations: [number, number] = dilate ? [1 + rng.int(2), 1 + rng.int(2)] : [1, 1];
    const kind = rng.int(4);
    let pad: Pad;
    let rounding: ConvCase["rounding"];
    if (kind === 0) pad = "valid";
    else if (kind === 1) pad = "same";
    else if (kind === 2) {
      pad = [
        [0, 0],
        [rng.int(3), rng.int(3)],
        [rng.int(3), rng.int(3)],
        [0, 0],
      ];
    } else {
      // tfjs sizes a numeric pad from the filter height and stride height alone (and ignores
      // dilation there): square only.
      pad = rng.int(3);
      rounding = (["floor", "round", "ceil"] as const)[rng.int(3)];
      k[1] = k[0]!;
      strides[1] = strides[0];
      dilations[0] = dilations[1] = 1;
    }
    const w: ConvCase["w"] = [k[0]!, k[1]!, c, o];
    const c0: ConvCase = { x, w, strides, dilations, pad, rounding };
    if (dilate && (strides[0] > 1 || strides[1] > 1)) continue;
    const info = tf.backend_util.computeConv2DInfo(x, w, strides, dilations, pad, rounding);
    if (info.outHeight > 0 && info.outWidth > 0) return c0;
  }
}

/** conv2d of the case: y, and unless tfjs cannot take them, the gradients of x and w. */
export function convOutputs(c: ConvCase, xv: Float32Array, wv: Float32Array): tf.Tensor[] {
  const x = tf.tensor4d(xv, c.x);
  const w = tf.tensor4d(wv, c.w);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    tf.conv2d(
      a as tf.Tensor4D,
      b as tf.Tensor4D,
      c.strides,
      c.pad,
      "NHWC",
      c.dilations,
      c.rounding,
    );
  // Gradients need dilation 1 in tfjs, and its conv gradients drop dimRoundingMode (the cpu
  // backend then disagrees with its own forward): values only.
  if (c.dilations[0] > 1 || c.dilations[1] > 1) return [f(x, w)];
  if (c.rounding !== undefined && c.rounding !== "floor") return [f(x, w)];
  return weightedGrads(f, [x, w]);
}

/**
 * conv2dTranspose with the case's geometry (its x the transposed convolution's output), on
 * y and w: the output and both gradients; null when tfjs's conv2dTranspose cannot take it.
 */
export function convTransposeOutputs(
  c: ConvCase,
): { yShape: number[]; run: (yv: Float32Array, wv: Float32Array) => tf.Tensor[] } | null {
  if (c.dilations[0] > 1 || c.dilations[1] > 1) return null;
  if (typeof c.pad === "object") return null; // conv2dTranspose takes valid/same/number only
  if (c.rounding !== undefined && c.rounding !== "floor") return null;
  const info = tf.backend_util.computeConv2DInfo(c.x, c.w, c.strides, 1, c.pad, c.rounding);
  const yShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  const pad = c.pad;
  return {
    yShape,
    run: (yv, wv) => {
      const y = tf.tensor4d(yv, yShape as ConvCase["x"]);
      const w = tf.tensor4d(wv, c.w);
      const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
        tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, c.x, c.strides, pad, c.rounding);
      return weightedGrads(f, [y, w]);
    },
  };
}
