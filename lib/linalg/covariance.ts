/** Means and covariances of large data sets, accumulated in Float64 by batches. */
import * as tf from "@tensorflow/tfjs";
import { throwIfInterrupted } from "../training/interrupt";

/**
 * Mean and covariance (divided by N) of data [N, ...] flattened to N x D, accumulated in Float64:
 * the mean in JS, the covariance as a sum of per-batch tfjs matMuls of the centred rows. Reads the
 * data once into JS (one copy of it on backends that keep tensors elsewhere); batches are made
 * from that array, since slicing a large tensor costs ~0.1 s per batch on wasm.
 */
export function meanAndCovariance(
  images: tf.Tensor,
  batchSize = 2000,
): { mean: Float64Array; covariance: Float64Array; n: number; dim: number } {
  if (images.rank < 2 || images.shape[0] === 0) {
    throw new Error(
      `meanAndCovariance: expected [N, ...] data with N >= 1, got shape [${images.shape}]`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`meanAndCovariance: batchSize must be a positive integer, got ${batchSize}`);
  }
  const n = images.shape[0];
  const dim = images.size / n;
  const raw = images.dataSync();
  const values = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const off = i * dim;
    for (let j = 0; j < dim; j++) mean[j] = mean[j]! + values[off + j]!;
  }
  for (let j = 0; j < dim; j++) mean[j] = mean[j]! / n;
  // Centre before the product: X^T X - N m m^T would cancel catastrophically in float32.
  const covariance = new Float64Array(dim * dim);
  const meanT = tf.tensor2d(Float32Array.from(mean), [1, dim]);
  try {
    for (let start = 0; start < n; start += batchSize) {
      throwIfInterrupted(() => `at batch ${start / batchSize + 1} of ${Math.ceil(n / batchSize)}`);
      const size = Math.min(batchSize, n - start);
      const part = tf.tidy(() => {
        const rows = values.subarray(start * dim, (start + size) * dim);
        const xc = tf.sub(tf.tensor2d(rows, [size, dim]), meanT);
        // An explicit transpose: matMul's transposeA path is ~9x slower on wasm, ~2x on cpu.
        return tf.matMul(tf.transpose(xc), xc);
      });
      const p = part.dataSync();
      part.dispose();
      for (let j = 0; j < dim * dim; j++) {
        covariance[j] = covariance[j]! + p[j]!;
      }
    }
  } finally {
    meanT.dispose();
  }
  for (let j = 0; j < dim * dim; j++) covariance[j] = covariance[j]! / n;
  return { mean, covariance, n, dim };
}
