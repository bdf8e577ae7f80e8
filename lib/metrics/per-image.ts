/**
 * Per-image reconstruction quality (MSE per pixel, PSNR), for finding where one method wins
 * over another: 7.3 compares the super-resolution autoencoder with bilinear interpolation
 * image by image. Whole-set figures are msePerPixel / psnr of ./reconstruction.
 */
import * as tf from "@tensorflow/tfjs";
import { INFERENCE_BATCH, forEachBatch } from "../data/batches";
import { psnrFromMse } from "./reconstruction";

/**
 * Mean of (x - y)^2 over each image's values: one number per row of x and y (same shape,
 * [N, ...]), computed `batchSize` rows at a time.
 */
export function msePerImage(x: tf.Tensor, y: tf.Tensor, batchSize = INFERENCE_BATCH): Float64Array {
  if (!tf.util.arraysEqual(x.shape, y.shape)) {
    throw new Error(`msePerImage: shapes differ, [${x.shape}] vs [${y.shape}]`);
  }
  if (x.rank < 2 || x.size === 0) {
    throw new Error(`msePerImage: expected a non-empty batch [N, ...], got [${x.shape}]`);
  }
  const out = new Float64Array(x.shape[0]);
  forEachBatch([x, y], batchSize, ([xb, yb], start) => {
    const d = tf.squaredDifference(xb, yb);
    out.set(tf.mean(tf.reshape(d, [xb.shape[0], -1]), 1).dataSync(), start);
  });
  return out;
}

/** PSNR in dB of each image of y against the same image of x (Infinity where they are equal). */
export function psnrPerImage(
  x: tf.Tensor,
  y: tf.Tensor,
  peak = 1,
  batchSize = INFERENCE_BATCH,
): Float64Array {
  return msePerImage(x, y, batchSize).map((m) => psnrFromMse(m, peak));
}
