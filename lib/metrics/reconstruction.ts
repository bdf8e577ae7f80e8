/**
 * Reconstruction quality: mean squared error per pixel and PSNR, computed by batches so that
 * 10,000 images (and their reconstructions) never sit in memory as one temporary.
 */
import * as tf from "@tensorflow/tfjs";

/** A map from images [N, H, W, C] to reconstructions of the same shape (e.g. model.forward). */
export type Reconstruct = (x: tf.Tensor4D) => tf.Tensor4D;

const DEFAULT_BATCH = 1000;

function checkBatchSize(batchSize: number, where: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${where}: batchSize must be a positive integer, got ${batchSize}`);
  }
}

/** Rows [start, start + size) of x, whatever its rank. */
function rows<T extends tf.Tensor>(x: T, start: number, size: number): T {
  const begin = x.shape.map((_, i) => (i === 0 ? start : 0));
  const extent = x.shape.map((s, i) => (i === 0 ? size : s));
  return tf.slice(x, begin, extent) as T;
}

/** Sum of squared differences of two same-shape tensors, accumulated in Float64 by batches. */
function sumSquaredError(x: tf.Tensor, y: tf.Tensor, batchSize: number): number {
  let total = 0;
  const n = x.shape[0] ?? 1;
  if (x.rank === 0) return tf.tidy(() => tf.squaredDifference(x, y).dataSync()[0] as number);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const s = tf.tidy(() =>
      tf.sum(tf.squaredDifference(rows(x, start, size), rows(y, start, size))),
    );
    total += s.dataSync()[0] as number;
    s.dispose();
  }
  return total;
}

/**
 * Mean over all pixels and images of (x - y)^2. x and y must have the same shape; the sum is
 * taken over batches of `batchSize` rows along the first axis.
 */
export function msePerPixel(x: tf.Tensor, y: tf.Tensor, batchSize: number = DEFAULT_BATCH): number {
  checkBatchSize(batchSize, "msePerPixel");
  if (!tf.util.arraysEqual(x.shape, y.shape)) {
    throw new Error(`msePerPixel: shapes differ, [${x.shape}] vs [${y.shape}]`);
  }
  if (x.size === 0) throw new Error("msePerPixel: empty tensors");
  return sumSquaredError(x, y, batchSize) / x.size;
}

/**
 * Test MSE per pixel of a model: mean of (x - reconstruct(x))^2 over all pixels of `images`,
 * reconstructing `batchSize` images at a time. Does not dispose `images`.
 */
export function reconstructionMsePerPixel(
  reconstruct: Reconstruct,
  images: tf.Tensor4D,
  batchSize: number = DEFAULT_BATCH,
): number {
  checkBatchSize(batchSize, "reconstructionMsePerPixel");
  if (images.rank !== 4 || images.size === 0) {
    throw new Error(
      `reconstructionMsePerPixel: expected images [N, H, W, C], got shape [${images.shape}]`,
    );
  }
  const n = images.shape[0];
  let total = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const s = tf.tidy(() => {
      const x = rows(images, start, size);
      const y = reconstruct(x);
      if (!tf.util.arraysEqual(x.shape, y.shape)) {
        throw new Error(
          `reconstructionMsePerPixel: reconstruction has shape [${y.shape}], input [${x.shape}]`,
        );
      }
      return tf.sum(tf.squaredDifference(x, y));
    });
    total += s.dataSync()[0] as number;
    s.dispose();
  }
  return total / images.size;
}

/** PSNR in dB of a mean squared error, for signals of range `peak` (1 for images in [0, 1]). */
export function psnrFromMse(mse: number, peak = 1): number {
  if (!(mse >= 0)) throw new Error(`psnrFromMse: mse must be >= 0, got ${mse}`);
  if (!(peak > 0)) throw new Error(`psnrFromMse: peak must be > 0, got ${peak}`);
  return 10 * Math.log10((peak * peak) / mse);
}

/** PSNR in dB of y against the reference x: 10 log10(peak^2 / msePerPixel(x, y)); Infinity if equal. */
export function psnr(
  x: tf.Tensor,
  y: tf.Tensor,
  peak = 1,
  batchSize: number = DEFAULT_BATCH,
): number {
  return psnrFromMse(msePerPixel(x, y, batchSize), peak);
}
