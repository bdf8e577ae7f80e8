/**
 * A classifier as a measuring instrument, on what it read (MnistClassifier.read): how often
 * it agrees with the original labels ("digit kept"), and how confident it is on a set of
 * images (real test digits against decoded latent samples).
 */

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

/** Summary of a classifier's confidence (max class probability, `read(images).confidence`). */
export function confidenceSummary(m: ArrayLike<number>, threshold = 0.9): ConfidenceSummary {
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new Error(`confidenceSummary: threshold must be in [0, 1], got ${threshold}`);
  }
  if (m.length === 0) throw new Error("confidenceSummary: no images");
  for (let i = 0; i < m.length; i++) {
    const v = m[i]!;
    if (!(v >= 0 && v <= 1 + 1e-5)) {
      throw new Error(
        `confidenceSummary: image ${i} has max probability ${v}; pass probabilities (softmax), not logits`,
      );
    }
  }
  let sum = 0;
  let confident = 0;
  for (let i = 0; i < m.length; i++) {
    const v = m[i]!;
    sum += v;
    if (v >= threshold) confident++;
  }
  const sorted = Float64Array.from(m).sort();
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    n: m.length,
    meanMaxProbability: sum / m.length,
    medianMaxProbability: median,
    confidentFraction: confident / m.length,
    threshold,
  };
}
