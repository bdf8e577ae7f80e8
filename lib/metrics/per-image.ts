/**
 * Per-image reconstruction quality (MSE per pixel, PSNR), for finding where one method wins
 * over another: 7.3 compares the super-resolution autoencoder with bilinear interpolation
 * image by image. Whole-set figures are msePerPixel / psnr of ./reconstruction.
 */
import * as tf from "@tensorflow/tfjs";
import { psnrFromMse } from "./reconstruction";

/**
 * Mean of (x - y)^2 over each image's values: one number per row of x and y (same shape,
 * [N, ...]), computed `batchSize` rows at a time.
 */
export function msePerImage(x: tf.Tensor, y: tf.Tensor, batchSize = 1000): Float64Array {
  if (!tf.util.arraysEqual(x.shape, y.shape)) {
    throw new Error(`msePerImage: shapes differ, [${x.shape}] vs [${y.shape}]`);
  }
  if (x.rank < 2 || x.size === 0) {
    throw new Error(`msePerImage: expected a non-empty batch [N, ...], got [${x.shape}]`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`msePerImage: batchSize must be a positive integer, got ${batchSize}`);
  }
  const n = x.shape[0] as number;
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const means = tf.tidy(() => {
      const begin = x.shape.map((_, i) => (i === 0 ? start : 0));
      const extent = x.shape.map((s, i) => (i === 0 ? size : s));
      const d = tf.squaredDifference(tf.slice(x, begin, extent), tf.slice(y, begin, extent));
      return tf.mean(tf.reshape(d, [size, -1]), 1);
    });
    out.set(means.dataSync(), start);
    means.dispose();
  }
  return out;
}

/** PSNR in dB of each image of y against the same image of x (Infinity where they are equal). */
export function psnrPerImage(x: tf.Tensor, y: tf.Tensor, peak = 1, batchSize = 1000): Float64Array {
  return msePerImage(x, y, batchSize).map((m) => psnrFromMse(m, peak));
}
