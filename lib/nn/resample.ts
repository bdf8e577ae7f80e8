/**
 * The one interpolate: modes "nearest" and "bilinear" (align_corners = False, PyTorch's
 * default), one resampling matrix per spatial axis so that the source-index rules are
 * PyTorch's exactly, including for non-integer scale factors (PyTorch maps coordinates with
 * 1 / scale_factor when one is given, not with in / out) and its float32 arithmetic.
 * Matrix products keep it differentiable on every backend. Nearest upsampling by an integer
 * factor is a broadcast instead (same values, cheaper; used by U-Nets).
 */
import * as tf from "@tensorflow/tfjs";
import type { Pair } from "./geometry";

export type InterpolateMode = "nearest" | "bilinear";

/** Options of interpolate / Upsample: exactly one of `size` and `scaleFactor`. */
export interface InterpolateOptions {
  /** Output spatial size: W for signals, [H, W] (or one number for both) for images. */
  size?: number | Pair;
  /** Multiplier of the spatial size; the output size is floor(in * scaleFactor). */
  scaleFactor?: number | Pair;
  /** "nearest" (default): index floor(dst * scale); "bilinear": half-pixel centres, images only. */
  mode?: InterpolateMode;
}

/** Per spatial axis: the output size and PyTorch's coordinate scale (in / out, or 1 / factor). */
export interface Resampling {
  outSizes: number[];
  scales: number[];
  mode: InterpolateMode;
}

const f32 = Math.fround;

/** PyTorch's nearest rule: src = min(floor(dst * scale), in - 1) in float32. */
function nearestSourceIndex(dst: number, inSize: number, scale: number): number {
  return Math.min(Math.floor(f32(f32(dst) * f32(scale))), inSize - 1);
}

/** PyTorch's half-pixel rule for linear modes: src = max(0, scale (dst + 0.5) - 0.5) in float32. */
function linearSourceCoordinate(dst: number, scale: number): number {
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
  mode: InterpolateMode,
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
    a[j * inSize + lo] = a[j * inSize + lo]! + f32(1 - lambda);
    a[j * inSize + hi] = a[j * inSize + hi]! + lambda;
  }
  return a;
}

/** Checks what can be checked without an input: the mode, one of size / scaleFactor, signs. */
export function checkInterpolateOptions(op: string, options: InterpolateOptions): void {
  const mode = options.mode ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") {
    throw new Error(`${op}: mode must be "nearest" or "bilinear", got "${String(mode)}"`);
  }
  const { size, scaleFactor } = options;
  if ((size === undefined) === (scaleFactor === undefined)) {
    throw new Error(`${op}: give exactly one of size and scaleFactor`);
  }
  const values = [size ?? scaleFactor].flat() as number[];
  if (size !== undefined && values.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new Error(`${op}: size must be positive integers, got [${values.join(", ")}]`);
  }
  if (scaleFactor !== undefined && values.some((f) => !(f > 0) || !Number.isFinite(f))) {
    throw new Error(`${op}: scaleFactor must be positive, got [${values.join(", ")}]`);
  }
}

/**
 * Resolves interpolate's options for an input with the given spatial sizes, with
 * PyTorch's errors.
 */
export function resolveResampling(
  op: string,
  inSizes: readonly number[],
  options: InterpolateOptions,
): Resampling {
  checkInterpolateOptions(op, options);
  const mode = options.mode ?? "nearest";
  const dims = inSizes.length;
  if (mode === "bilinear" && dims !== 2) {
    throw new Error(
      `${op}: mode "bilinear" needs 4-D input [N, C, H, W], got ${dims} spatial dimension(s)`,
    );
  }
  const expand = (v: number | Pair, name: string): number[] => {
    const vs = typeof v === "number" ? new Array<number>(dims).fill(v) : [...v];
    if (vs.length !== dims) {
      throw new Error(`${op}: ${name} needs ${dims} value(s), got ${vs.length}`);
    }
    return vs;
  };
  if (options.size !== undefined) {
    const outSizes = expand(options.size, "size");
    return { outSizes, scales: outSizes.map((o, i) => inSizes[i]! / o), mode };
  }
  const factors = expand(options.scaleFactor as number | Pair, "scaleFactor");
  const outSizes = factors.map((f, i) => Math.floor(inSizes[i]! * f));
  if (outSizes.some((s) => s <= 0)) {
    throw new Error(
      `${op}: scaleFactor [${factors.join(", ")}] gives an empty output for input size [${inSizes.join(", ")}]`,
    );
  }
  return { outSizes, scales: factors.map((f) => 1 / f), mode };
}

/** The integer factor when nearest resampling of this axis repeats each sample k times. */
function repeatFactor(inSize: number, outSize: number, scale: number): number | null {
  if (outSize % inSize !== 0) return null;
  const k = outSize / inSize;
  for (let j = 0; j < outSize; j++) {
    if (nearestSourceIndex(j, inSize, scale) !== Math.floor(j / k)) return null;
  }
  return k;
}

/**
 * Repeats every sample of `axis` k times, by concatenating k views (exact, and so is its
 * gradient). Concat copies contiguous runs; broadcastTo runs wasm's Tile, about 100 ns per
 * value, which made upsampling most of a U-Net's forward time.
 */
function repeatAxis(x: tf.Tensor, axis: number, k: number): tf.Tensor {
  const shape = x.shape as number[];
  const outer = shape.slice(0, axis + 1).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const view = tf.reshape(x, [outer, 1, inner]);
  const spread = tf.concat(new Array<tf.Tensor>(k).fill(view), 1);
  const out = [...shape];
  out[axis] = shape[axis]! * k;
  return tf.reshape(spread, out);
}

/** Resamples one axis by a matrix product. */
function resampleAxis(
  x: tf.Tensor,
  axis: number,
  outSize: number,
  scale: number,
  mode: InterpolateMode,
): tf.Tensor {
  const inSize = x.shape[axis]!;
  if (mode === "nearest") {
    const k = repeatFactor(inSize, outSize, scale);
    if (k !== null) return k === 1 ? x : repeatAxis(x, axis, k);
  }
  // [out, in] transposed once here: matMul's transpose flags are slow on wasm.
  const at = tf
    .tensor2d(resamplingMatrix(inSize, outSize, scale, mode), [outSize, inSize])
    .transpose();
  const last = x.rank - 1;
  // Swap the axis to the end, multiply, swap back (the permutation is its own inverse).
  const perm = x.shape.map((_, i) => (i === axis ? last : i === last ? axis : i));
  const moved = axis === last ? x : tf.transpose(x, perm);
  const y = tf
    .matMul(tf.reshape(moved, [-1, inSize]), at)
    .reshape([...moved.shape.slice(0, -1), outSize]);
  return axis === last ? y : tf.transpose(y, perm);
}

/** Resamples the spatial axes of a channels-last tensor ([N, H, W, C] or [N, W, C]). */
export function resampleChannelsLast<T extends tf.Tensor>(x: T, r: Resampling): T {
  return tf.tidy(() => {
    let y: tf.Tensor = x;
    r.outSizes.forEach((outSize, i) => {
      y = resampleAxis(y, 1 + i, outSize, r.scales[i]!, r.mode);
    });
    return y as T;
  });
}
