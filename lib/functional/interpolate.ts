/**
 * F.interpolate with modes "nearest" and "bilinear" (align_corners = False, PyTorch's
 * default), written as gathers along each spatial axis so that the source-index rules are
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

function resizeAxis(
  x: tf.Tensor,
  axis: number,
  outSize: number,
  scale: number,
  mode: "nearest" | "bilinear",
): tf.Tensor {
  const inSize = x.shape[axis] as number;
  if (mode === "nearest") {
    const idx = new Int32Array(outSize);
    for (let j = 0; j < outSize; j++) idx[j] = nearestSourceIndex(j, inSize, scale);
    return tf.gather(x, tf.tensor1d(idx, "int32"), axis);
  }
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const lambda = new Float32Array(outSize);
  for (let j = 0; j < outSize; j++) {
    const src = linearSourceCoordinate(j, scale);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[j] = lo;
    i1[j] = lo < inSize - 1 ? lo + 1 : lo;
    lambda[j] = src - lo;
  }
  // Shape the weights to broadcast along `axis` only.
  const wShape = x.shape.map((_, a) => (a === axis ? outSize : 1));
  const l = tf.tensor(lambda, wShape);
  const a = tf.gather(x, tf.tensor1d(i0, "int32"), axis);
  const b = tf.gather(x, tf.tensor1d(i1, "int32"), axis);
  return a.add(b.sub(a).mul(l));
}

/**
 * F.interpolate(x, size | scale_factor, mode): x is [N, C, W] ("nearest" only) or
 * [N, C, H, W]. Differentiable (built from gathers).
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
