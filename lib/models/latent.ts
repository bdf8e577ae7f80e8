/**
 * Latent-space tools of lecture 7.2, for any encoder/decoder pair (the autoencoder, PCA):
 * interpolation xi(x, x', alpha) = g((1 - alpha) f(x) + alpha f(x')), and the diagonal Gaussian
 * density model f(X) ~ N(m, Delta) fitted on training codes and sampled to generate images.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { Codec } from "./codec";

/**
 * Decodes the latent interpolations between pairs (x[p], xPrime[p]): returns images
 * [P * A, C, H, W], pair-major (row p of a P x A grid holds alpha = alphas[0..A)).
 * alpha = 0 gives g(f(x)) and alpha = 1 gives g(f(x')).
 */
export function latentInterpolation(
  codec: Codec,
  x: tf.Tensor4D,
  xPrime: tf.Tensor4D,
  alphas: readonly number[],
): tf.Tensor4D {
  if (x.rank !== 4 || !tf.util.arraysEqual(x.shape, xPrime.shape) || x.shape[0] === 0) {
    throw new Error(
      `latentInterpolation: x and xPrime must be images [P, C, H, W] of one shape, got [${x.shape}] and [${xPrime.shape}]`,
    );
  }
  if (alphas.length === 0 || !alphas.every((a) => Number.isFinite(a))) {
    throw new Error(
      `latentInterpolation: alphas must be a non-empty list of finite numbers, got [${alphas}]`,
    );
  }
  const pairs = x.shape[0];
  return tf.tidy(() => {
    const z0 = codec.encode(x); // [P, d, 1, 1]
    const z1 = codec.encode(xPrime);
    const codeShape = z0.shape.slice(1);
    const a = tf
      .tensor1d(Array.from(alphas))
      .reshape([1, alphas.length, ...codeShape.map(() => 1)]); // [1, A, 1, 1, 1]
    const e0 = tf.expandDims(z0, 1); // [P, 1, d, 1, 1]
    const e1 = tf.expandDims(z1, 1);
    // (1 - a) z0 + a z1, written so that a = 0 and a = 1 give z0 and z1 exactly.
    const z = tf.add(tf.mul(tf.sub(1, a), e0), tf.mul(a, e1)); // [P, A, d, 1, 1]
    const flat = tf.reshape<tf.Rank>(z, [pairs * alphas.length, ...codeShape]) as tf.Tensor4D;
    return codec.decode(flat);
  });
}

/** `count` evenly spaced alphas from 0 to 1 inclusive (the lecture uses 12). */
export function alphaSteps(count: number): number[] {
  if (!Number.isInteger(count) || count < 2)
    throw new Error(`alphaSteps: count must be >= 2, got ${count}`);
  return Array.from({ length: count }, (_, i) => i / (count - 1));
}

/** A Gaussian with diagonal covariance on the latent space. */
export interface DiagonalGaussian {
  /** Per-dimension mean (d numbers). */
  readonly mean: number[];
  /** Per-dimension standard deviation (d numbers, unbiased, N - 1). */
  readonly std: number[];
}

/**
 * Fits N(m, diag(s^2)) to codes [N, d] or [N, d, 1, 1] (mean and unbiased standard deviation of
 * each dimension), accumulating in Float64.
 */
export function gaussianFit(codes: tf.Tensor2D | tf.Tensor4D): DiagonalGaussian {
  const n = codes.shape[0];
  if ((codes.rank !== 2 && codes.rank !== 4) || n < 2) {
    throw new Error(
      `gaussianFit: expected codes [N, d] or [N, d, 1, 1] with N >= 2, got shape [${codes.shape}]`,
    );
  }
  const d = codes.size / n;
  const values = codes.dataSync();
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + values[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / n;
  const variance = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const c = values[i * d + j]! - mean[j]!;
      variance[j] = variance[j]! + c * c;
    }
  }
  const std = Array.from(variance, (v) => Math.sqrt(v / (n - 1)));
  const meanArr = Array.from(mean);
  if (!meanArr.every(Number.isFinite) || !std.every(Number.isFinite)) {
    throw new Error("gaussianFit: the codes contain NaN or Infinity");
  }
  return { mean: meanArr, std };
}

/** n codes [n, d, 1, 1] drawn from the fitted Gaussian with the given generator, ready for decode. */
export function sampleGaussian(fit: DiagonalGaussian, n: number, rng: Rng): tf.Tensor4D {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`sampleGaussian: n must be a positive integer, got ${n}`);
  const d = fit.mean.length;
  if (d === 0 || fit.std.length !== d || !fit.std.every((s) => s >= 0)) {
    throw new Error(
      `sampleGaussian: bad fit (mean has ${d} numbers, std ${fit.std.length}, all std must be >= 0)`,
    );
  }
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) out[i * d + j] = rng.normal(fit.mean[j]!, fit.std[j]!);
  }
  return tf.tensor4d(out, [n, d, 1, 1]);
}
