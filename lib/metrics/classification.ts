/**
 * A classifier as a measuring instrument: how often it still recognises the original digit in a
 * reconstruction ("digit kept"), and how confident it is on a set of images (real test digits
 * against decoded latent samples). Both run by batches and free every tensor they make.
 */
import * as tf from "@tensorflow/tfjs";
import { forEachBatch } from "../data/batches";

/** Predicted labels of images [N, C, H, W]; must not dispose its input. */
export type Classify = (images: tf.Tensor4D) => Int32Array;

/** Class probabilities [N, K] of images [N, C, H, W] (rows sum to 1); must not dispose its input. */
export type Probabilities = (images: tf.Tensor4D) => tf.Tensor2D;

const DEFAULT_BATCH = 1000;

function checkImages(images: tf.Tensor, where: string): void {
  if (images.rank !== 4 || images.shape[0] === 0) {
    throw new Error(
      `${where}: expected images [N, C, H, W] with N >= 1, got shape [${images.shape}]`,
    );
  }
}

/** Labels predicted by `classify` on all images, by batches. */
export function predictLabels(
  classify: Classify,
  images: tf.Tensor4D,
  batchSize: number = DEFAULT_BATCH,
): Int32Array {
  checkImages(images, "predictLabels");
  const out = new Int32Array(images.shape[0]);
  forEachBatch([images], batchSize, ([batch], start) => {
    const labels = classify(batch);
    if (labels.length !== batch.shape[0]) {
      throw new Error(
        `predictLabels: the classifier returned ${labels.length} labels for ${batch.shape[0]} images`,
      );
    }
    out.set(labels, start);
  });
  return out;
}

/** The fraction of positions where `predicted` equals `labels` (e.g. the "digit kept" rate). */
export function agreement(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length || predicted.length === 0) {
    throw new Error(
      `agreement: need two non-empty label arrays of one length, got ${predicted.length} and ${labels.length}`,
    );
  }
  let same = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) same++;
  return same / labels.length;
}

/**
 * The "digit kept" rate: the fraction of reconstructions that `classify` labels with the original
 * label. `labels` are the originals' labels (the dataset's, or the classifier's own predictions on
 * the originals, to factor out its test error: say which in the notebook).
 */
export function digitKeptRate(
  classify: Classify,
  reconstructions: tf.Tensor4D,
  labels: ArrayLike<number>,
  batchSize: number = DEFAULT_BATCH,
): number {
  checkImages(reconstructions, "digitKeptRate");
  if (labels.length !== reconstructions.shape[0]) {
    throw new Error(
      `digitKeptRate: ${labels.length} labels for ${reconstructions.shape[0]} reconstructions`,
    );
  }
  return agreement(predictLabels(classify, reconstructions, batchSize), labels);
}

/** How sure a classifier is on a set of images, from its maximum class probability per image. */
export interface ConfidenceSummary {
  /** Number of images. */
  readonly n: number;
  /** Mean over images of max_k p(k | image). */
  readonly meanMaxProbability: number;
  /** Median of the same. */
  readonly medianMaxProbability: number;
  /** Fraction of images whose max probability is at least `threshold`. */
  readonly confidentFraction: number;
  /** The threshold used for confidentFraction. */
  readonly threshold: number;
}

/** Maximum class probability of every image, by batches. */
export function maxProbabilities(
  probabilities: Probabilities,
  images: tf.Tensor4D,
  batchSize: number = DEFAULT_BATCH,
): Float32Array {
  checkImages(images, "maxProbabilities");
  const out = new Float32Array(images.shape[0]);
  forEachBatch([images], batchSize, ([batch], start) => {
    const p = probabilities(batch);
    if (p.rank !== 2 || p.shape[0] !== batch.shape[0]) {
      throw new Error(
        `maxProbabilities: expected probabilities [${batch.shape[0]}, K], got [${p.shape}]`,
      );
    }
    out.set(tf.max(p, 1).dataSync(), start);
  });
  return out;
}

/** Summary of the classifier's confidence (max class probability) on `images`. */
export function confidenceSummary(
  probabilities: Probabilities,
  images: tf.Tensor4D,
  threshold = 0.9,
  batchSize: number = DEFAULT_BATCH,
): ConfidenceSummary {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new Error(`confidenceSummary: threshold must be in [0, 1], got ${threshold}`);
  }
  const m = maxProbabilities(probabilities, images, batchSize);
  for (let i = 0; i < m.length; i++) {
    const v = m[i] as number;
    if (!(v >= 0 && v <= 1 + 1e-5)) {
      throw new Error(
        `confidenceSummary: image ${i} has max probability ${v}; pass probabilities (softmax), not logits`,
      );
    }
  }
  let sum = 0;
  let confident = 0;
  for (const v of m) {
    sum += v;
    if (v >= threshold) confident++;
  }
  const sorted = Float64Array.from(m).sort();
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    n: m.length,
    meanMaxProbability: sum / m.length,
    medianMaxProbability: median,
    confidentFraction: confident / m.length,
    threshold,
  };
}
