/**
 * What a latent traversal changes, without ground-truth factors. The "factors" are read off the
 * decoded images by instruments: the digit a classifier predicts, and four stroke statistics from
 * image moments (ink, slant, width, height; stroke.ts). For a dimension j, traversed from a set of
 * base codes (each traversal: the K images of latentTraversal for one base code):
 *
 * - digit effect: the mean over base codes of the Gini impurity of the predicted digits along the
 *   traversal (the probability that two of its images, drawn with replacement, differ in digit),
 *   divided by the same impurity over the reference images (about 0.9 on MNIST's test set);
 * - style effect of statistic s: the mean over base codes of the within-digit variance of s along
 *   the traversal (the variance of s about the mean of s over the traversal's images predicted as
 *   the same digit), divided by the within-digit variance of s over the reference images.
 *
 * Both are 0 when the traversal leaves the factor unchanged and 1 when it varies it as much as the
 * data set does (within one digit, for the style). Splitting each statistic's variance by digit
 * keeps a dimension that turns a 1 into a 0 from counting as a "width" dimension as well.
 *
 * A dimension's concentration is 1 - H(p) / log F, with p its F = 5 effects divided by their sum
 * (Eastwood & Williams' "disentanglement", 2018): 1 when it changes one factor only, 0 when it
 * changes all equally. The model's score is the mean concentration weighted by each dimension's
 * share of the total effect, so that dimensions that change nothing do not count.
 */
import type * as tf from "@tensorflow/tfjs";
import { latentTraversal, type DecodeCodes } from "../models/traversal";
import type { ImageReader } from "../models/classifier";
import { STROKE_STATISTICS, strokeStatistics, type StrokeStatisticName } from "./stroke";

/** The factors, in the order of an effect vector. */
export const FACTORS = ["digit", ...STROKE_STATISTICS] as const;
export type Factor = (typeof FACTORS)[number];

/** How much the factors vary over the reference images: the denominators of the effects. */
export interface FactorReference {
  /** Gini impurity of the predicted digits, 1 - sum_c q_c^2. */
  readonly digitImpurity: number;
  /** Within-digit variance of each stroke statistic. */
  readonly withinDigitVariance: Readonly<Record<StrokeStatisticName, number>>;
  /** Number of reference images. */
  readonly n: number;
}

/** One dimension's effects on each factor, and how concentrated they are. */
export interface DimensionEffects {
  readonly dim: number;
  readonly effects: Readonly<Record<Factor, number>>;
  /** The factor with the largest effect, or null when every effect is 0. */
  readonly dominant: Factor | null;
  /** 1 - H(p) / log 5; NaN when every effect is 0. */
  readonly concentration: number;
}

export interface TraversalEffects {
  readonly dims: DimensionEffects[];
  /** Concentrations weighted by each dimension's share of the total effect (NaN if all 0). */
  readonly score: number;
}

/** Gini impurity of a list of labels: the probability that two draws with replacement differ. */
export function giniImpurity(labels: ArrayLike<number>): number {
  const n = labels.length;
  if (n === 0) throw new Error("giniImpurity: no labels");
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
  let same = 0;
  for (const c of counts.values()) same += (c / n) * (c / n);
  return 1 - same;
}

/**
 * Mean squared deviation of values[i] from the mean of the values that share its label: the
 * within-group part of the variance (law of total variance), divided by N.
 */
export function withinGroupVariance(values: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0 || labels.length !== n) {
    throw new Error(
      `withinGroupVariance: need as many labels as values (${labels.length} vs ${n}), at least one`,
    );
  }
  // Deviations from each group's first value: a group of equal values gives exactly 0.
  const groups = new Map<number, { first: number; sum: number; count: number }>();
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const g = groups.get(labels[i]!);
    if (g) {
      g.sum += v - g.first;
      g.count += 1;
    } else groups.set(labels[i]!, { first: v, sum: 0, count: 1 });
  }
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const g = groups.get(labels[i]!) as { first: number; sum: number; count: number };
    const dv = values[i]! - g.first - g.sum / g.count;
    ss += dv * dv;
  }
  return ss / n;
}

/** The denominators, from reference images [N, 1, H, W] (e.g. the test set) and the classifier. */
export function factorReference(reader: ImageReader, images: tf.Tensor4D): FactorReference {
  const labels = reader.read(images).labels;
  if (labels.length !== images.shape[0]) {
    throw new Error(
      `factorReference: the classifier returned ${labels.length} labels for ${images.shape[0]} images`,
    );
  }
  const stats = strokeStatistics(images);
  const withinDigitVariance = {} as Record<StrokeStatisticName, number>;
  for (const s of STROKE_STATISTICS) {
    const v = withinGroupVariance(stats[s], labels);
    if (!(v > 0)) {
      throw new Error(
        `factorReference: the reference images do not vary in ${s} within a digit; pass real images (e.g. the test set)`,
      );
    }
    withinDigitVariance[s] = v;
  }
  const digitImpurity = giniImpurity(labels);
  if (!(digitImpurity > 0)) {
    throw new Error(
      "factorReference: the classifier predicts one digit for every reference image; pass varied images",
    );
  }
  return { digitImpurity, withinDigitVariance, n: labels.length };
}

/** 1 - H(p) / log F for non-negative effects; NaN when they are all 0. */
export function concentration(effects: readonly number[]): number {
  if (effects.length < 2 || !effects.every((e) => e >= 0 && Number.isFinite(e))) {
    throw new Error(`concentration: need at least 2 finite effects >= 0, got [${effects}]`);
  }
  const total = effects.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  let h = 0;
  for (const e of effects) if (e > 0) h -= (e / total) * Math.log(e / total);
  return 1 - h / Math.log(effects.length);
}

export interface TraversalEffectsOptions {
  /** g: codes [M, d, 1, 1] -> images [M, 1, H, W]. */
  decode: DecodeCodes;
  /** Reads the digit in images [M, 1, H, W] (the measuring classifier). */
  reader: ImageReader;
  /** Base codes [B, d, 1, 1], e.g. the codes (mu) of B test images. */
  codes: tf.Tensor4D;
  /** Dimensions to traverse. */
  dims: readonly number[];
  /** Values each dimension takes, e.g. -3 ... 3. */
  values: readonly number[];
  reference: FactorReference;
}

/** Effects of traversing each of `dims` on the digit and on the stroke statistics, and the score. */
export function traversalEffects(options: TraversalEffectsOptions): TraversalEffects {
  const { decode, reader, codes, dims, values, reference } = options;
  const b = codes.shape[0];
  const k = values.length;
  if (k < 2) throw new Error(`traversalEffects: need at least 2 values, got ${k}`);
  const out: DimensionEffects[] = dims.map((dim) => {
    const images = latentTraversal(decode, codes, [dim], values); // [B * K, 1, H, W], base-major
    let labels: Int32Array;
    let stats: ReturnType<typeof strokeStatistics>;
    try {
      labels = reader.read(images).labels;
      stats = strokeStatistics(images);
    } finally {
      images.dispose();
    }
    if (labels.length !== b * k) {
      throw new Error(
        `traversalEffects: the classifier returned ${labels.length} labels for ${b * k} images`,
      );
    }
    let digit = 0;
    const style = Object.fromEntries(STROKE_STATISTICS.map((s) => [s, 0])) as Record<
      StrokeStatisticName,
      number
    >;
    for (let i = 0; i < b; i++) {
      const l = labels.subarray(i * k, (i + 1) * k);
      digit += giniImpurity(l);
      for (const s of STROKE_STATISTICS)
        style[s] += withinGroupVariance(stats[s].subarray(i * k, (i + 1) * k), l);
    }
    const effects = { digit: digit / b / reference.digitImpurity } as Record<Factor, number>;
    for (const s of STROKE_STATISTICS) effects[s] = style[s] / b / reference.withinDigitVariance[s];
    const vector = FACTORS.map((f) => effects[f]);
    const max = Math.max(...vector);
    return {
      dim,
      effects,
      dominant: max > 0 ? (FACTORS[vector.indexOf(max)] as Factor) : null,
      concentration: concentration(vector),
    };
  });
  let weighted = 0;
  let total = 0;
  for (const e of out) {
    const sum = FACTORS.reduce((a, f) => a + e.effects[f], 0);
    if (sum > 0) {
      weighted += sum * e.concentration;
      total += sum;
    }
  }
  return { dims: out, score: total > 0 ? weighted / total : NaN };
}
