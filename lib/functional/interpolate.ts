/**
 * F.interpolate with modes "nearest" and "bilinear" (align_corners = False, PyTorch's
 * default), written as one resampling matrix per spatial axis so that the source-index rules are
 * PyTorch's exactly, including for non-integer scale factors (PyTorch maps coordinates with
 * 1 / scale_factor when one is given, not with in / out) and its float32 index arithmetic.
 */
import * as tf from "@tensorflow/tfjs";

import type { Pair } from "./shapes";

/** Options of interpolate: exactly one of `size` and `scaleFactor`. */
export interface InterpolateOptions {
  /** Output spatial size: W for [N, C, W] input, [H, W] (or one number for both) for [N, C, H, W]. */
  size?: number | Pair;
  /** Multiplier of the spatial size; the output size is floor(in * scaleFactor). */
  scaleFactor?: number | Pair;
  /** "nearest": index floor(dst * scale); "bilinear": half-pixel centres, 4-D input only. */
  mode?: "nearest" | "bilinear";
}

const f32 = Math.fround;

/** PyTorch's nearest rule: src = min(floor(dst * scale), in - 1) in float32. */
export function nearestSourceIndex(dst: number, inSize: number, scale: number): number {
  return Math.min(Math.floor(f32(f32(dst) * f32(scale))), inSize - 1);
}

/** PyTorch's half-pixel rule for linear modes: src = max(0, scale (dst + 0.5) - 0.5) in float32. */
export function linearSourceCoordinate(dst: number, scale: number): number {
  const src = f32(f32(f32(scale) * f32(dst + 0.5)) - 0.5);
  return src < 0 ? 0 : src;
}

/**
 * The [out, in] resampling matrix of one axis: row j holds the weights PyTorch gives the
 * input samples of output j (one 1 for "nearest"; 1 - lambda and lambda for "bilinear").
 */
export function resamplingMatrix(
  inSize: number,
  outSize: number,
  scale: number,
  mode: "nearest" | "bilinear",
): Float32Array {
  const a = new Float32Array(outSize * inSize);
  for (let j = 0; j < outSize; j++) {
    if (mode === "nearest") {
      a[j * inSize + nearestSourceIndex(j, inSize, scale)] = 1;
      continue;
    }
    const src = linearSourceCoordinate(j, scale);
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = lo < inSize - 1 ? lo + 1 : lo;
    const lambda = f32(src - lo);
    a[j * inSize + lo] = (a[j * inSize + lo] as number) + f32(1 - lambda);
    a[j * inSize + hi] = (a[j * inSize + hi] as number) + lambda;
  }
  return a;
}

/**
 * Resamples one spatial axis by a matrix product: differentiable on every backend
 * (gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks).
 */
function resizeAxis(
  x: tf.Tensor,
  axis: number,
  outSize: number,
  scale: number,
  mode: "nearest" | "bilinear",
): tf.Tensor {
  const inSize = x.shape[axis] as number;
  const a = tf.tensor2d(resamplingMatrix(inSize, outSize, scale, mode), [outSize, inSize]);
  const last = x.rank - 1;
  // Swap the axis to the end, multiply, swap back (the permutation is its own inverse).
  const perm = x.shape.map((_, i) => (i === axis ? last : i === last ? axis : i));
  const moved = axis === last ? x : x.transpose(perm);
  const y = tf
    .matMul(moved.reshape([-1, inSize]), a, false, true)
    .reshape([...moved.shape.slice(0, -1), outSize]);
  return axis === last ? y : y.transpose(perm);
}

/**
 * F.interpolate(x, size | scale_factor, mode): x is [N, C, W] ("nearest" only) or
 * [N, C, H, W]. Differentiable on every backend (built from matrix products).
 */
export function interpolate<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  options: InterpolateOptions,
): T {
  const op = "interpolate";
  const mode = options.mode ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") {
    throw new Error(`${op}: mode must be "nearest" or "bilinear", got "${String(mode)}"`);
  }
  if (x.rank !== 3 && x.rank !== 4) {
    throw new Error(
      `${op}: input must be [N, C, W] or [N, C, H, W], got shape [${x.shape.join(", ")}]`,
    );
  }
  if (mode === "bilinear" && x.rank !== 4) {
    throw new Error(
      `${op}: mode "bilinear" needs 4-D input [N, C, H, W], got shape [${x.shape.join(", ")}]`,
    );
  }
  const dims = x.rank - 2;
  const { size, scaleFactor } = options;
  if ((size === undefined) === (scaleFactor === undefined)) {
    throw new Error(`${op}: give exactly one of size and scaleFactor`);
  }
  const expand = (v: number | Pair, name: string): number[] => {
    const vs = typeof v === "number" ? new Array<number>(dims).fill(v) : [...v];
    if (vs.length !== dims)
      throw new Error(
        `${op}: ${name} needs ${dims} value(s) for a ${x.rank}-D input, got ${vs.length}`,
      );
    return vs;
  };
  const inSizes = x.shape.slice(2);
  let outSizes: number[];
  let scales: number[];
  if (size !== undefined) {
    outSizes = expand(size, "size");
    if (outSizes.some((s) => !Number.isInteger(s) || s <= 0)) {
      throw new Error(`${op}: size must be positive integers, got [${outSizes.join(", ")}]`);
    }
    scales = outSizes.map((o, i) => (inSizes[i] as number) / o);
  } else {
    const factors = expand(scaleFactor as number | Pair, "scaleFactor");
    if (factors.some((f) => !(f > 0) || !Number.isFinite(f))) {
      throw new Error(`${op}: scaleFactor must be positive, got [${factors.join(", ")}]`);
    }
    outSizes = factors.map((f, i) => Math.floor((inSizes[i] as number) * f));
    if (outSizes.some((s) => s <= 0)) {
      throw new Error(
        `${op}: scaleFactor [${factors.join(", ")}] gives an empty output for input size [${inSizes.join(", ")}]`,
      );
    }
    scales = factors.map((f) => 1 / f);
  }
  return tf.tidy(() => {
    let y: tf.Tensor = x;
    for (let i = 0; i < dims; i++)
      y = resizeAxis(y, 2 + i, outSizes[i] as number, scales[i] as number, mode);
    return y as T;
  });
}
