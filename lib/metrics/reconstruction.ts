/**
 * Reconstruction quality: mean squared error per pixel and PSNR, computed by batches so that
 * 10,000 images (and their reconstructions) never sit in memory as one temporary.
 */
import * as tf from "@tensorflow/tfjs";
import { INFERENCE_BATCH, forEachBatch } from "../data/batches";
import type { ImageReader } from "../models/classifier";
import { agreement } from "./classification";

/** A map from images [N, C, H, W] to reconstructions of the same shape (e.g. model.forward). */
export type Reconstruct = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * Mean over all pixels and images of (x - y)^2. x and y must have the same shape; the sum is
 * accumulated in Float64 over batches of `batchSize` rows.
 */
export function msePerPixel(
  x: tf.Tensor,
  y: tf.Tensor,
  batchSize: number = INFERENCE_BATCH,
): number {
  if (!tf.util.arraysEqual(x.shape, y.shape)) {
    throw new Error(`msePerPixel: shapes differ, [${x.shape}] vs [${y.shape}]`);
  }
  if (x.size === 0) throw new Error("msePerPixel: empty tensors");
  if (x.rank === 0) return tf.tidy(() => tf.squaredDifference(x, y).dataSync()[0]!);
  let total = 0;
  forEachBatch([x, y], batchSize, ([a, b]) => {
    total += tf.sum(tf.squaredDifference(a, b)).dataSync()[0]!;
  });
  return total / x.size;
}

/**
 * Test MSE per pixel of a model: mean of (x - reconstruct(x))^2 over all pixels of `images`,
 * reconstructing `batchSize` images at a time. Does not dispose `images`.
 */
export function reconstructionMsePerPixel(
  reconstruct: Reconstruct,
  images: tf.Tensor4D,
  batchSize: number = INFERENCE_BATCH,
): number {
  if (images.rank !== 4 || images.size === 0) {
    throw new Error(
      `reconstructionMsePerPixel: expected images [N, C, H, W], got shape [${images.shape}]`,
    );
  }
  let total = 0;
  forEachBatch([images], batchSize, ([x]) => {
    const y = reconstruct(x);
    if (!tf.util.arraysEqual(x.shape, y.shape)) {
      throw new Error(
        `reconstructionMsePerPixel: reconstruction has shape [${y.shape}], input [${x.shape}]`,
      );
    }
    total += tf.sum(tf.squaredDifference(x, y)).dataSync()[0]!;
  });
  return total / images.size;
}

/** A codec (or anything with forward) that maps images to reconstructions of the same shape. */
export interface Reconstructor {
  forward(x: tf.Tensor4D): tf.Tensor;
}

/** How well a model reconstructs a data set. */
export interface ReconstructionReport {
  /** Mean over pixels and images of (x - reconstruction)^2. */
  mse: number;
  /** Fraction of reconstructions the reader labels with the original's label (the "kept" rate). */
  kept: number;
}

/**
 * The test MSE per pixel of `model`'s reconstructions of `data`, and the fraction of them that
 * `reader` (the measuring classifier) reads as the original's label: one pass, by batches.
 */
export function reconstructionReport(
  model: Reconstructor,
  data: { images: tf.Tensor4D; labels: ArrayLike<number> },
  reader: ImageReader,
  batchSize: number = INFERENCE_BATCH,
): ReconstructionReport {
  const n = data.images.shape[0];
  if (data.labels.length !== n) {
    throw new Error(`reconstructionReport: ${data.labels.length} labels for ${n} images`);
  }
  let total = 0;
  const read = new Int32Array(n);
  forEachBatch([data.images], batchSize, ([x], start) => {
    const y = model.forward(x) as tf.Tensor4D;
    if (!tf.util.arraysEqual(x.shape, y.shape)) {
      throw new Error(`reconstructionReport: reconstruction [${y.shape}] for images [${x.shape}]`);
    }
    total += tf.sum(tf.squaredDifference(x, y)).dataSync()[0]!;
    read.set(reader.read(y).labels, start);
  });
  return { mse: total / data.images.size, kept: agreement(read, data.labels) };
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
  batchSize: number = INFERENCE_BATCH,
): number {
  return psnrFromMse(msePerPixel(x, y, batchSize), peak);
}
