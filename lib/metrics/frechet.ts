/**
 * The Fréchet distance between two sets of features, each summarised by a Gaussian (mean and
 * covariance): the recipe of FID (Heusel et al. 2017) with whatever feature network the caller
 * uses. With our small MNIST classifier's penultimate layer it is not "FID" (that name means
 * Inception-v3 features): call it the Fréchet distance in that classifier's feature space.
 */
import * as tf from "@tensorflow/tfjs";
import { meanAndCovariance, symmetricEigen } from "../linalg";

/** A Gaussian summary of n feature vectors of dimension dim (covariance row-major, dim x dim). */
export interface FeatureMoments {
  readonly mean: Float64Array;
  readonly covariance: Float64Array;
  readonly dim: number;
}

/** Mean and covariance (divided by N) of features [N, F], in Float64. */
export function featureMoments(features: tf.Tensor2D): FeatureMoments {
  if (features.rank !== 2 || features.shape[0] < 2) {
    throw new Error(
      `featureMoments: expected features [N, F] with N >= 2, got [${features.shape}]`,
    );
  }
  const { mean, covariance, dim } = meanAndCovariance(features);
  for (let j = 0; j < dim; j++) {
    if (!Number.isFinite(mean[j]!)) {
      throw new Error(`featureMoments: feature ${j} has a non-finite mean (NaN or Infinity in it)`);
    }
  }
  return { mean, covariance, dim };
}

/**
 * featureMoments of features(images), freed afterwards: e.g. a classifier's penultimate layer on
 * decoded samples, or on the test images.
 */
export function imageFeatureMoments(
  features: (images: tf.Tensor4D) => tf.Tensor2D,
  images: tf.Tensor4D,
): FeatureMoments {
  const f = features(images);
  try {
    return featureMoments(f);
  } finally {
    f.dispose();
  }
}

/** C = A B for n x n row-major matrices. */
function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] = c[i * n + j]! + aik * b[k * n + j]!;
    }
  }
  return c;
}

/** The symmetric square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric PSD matrix. */
function psdSqrt(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vi = s * vectors[k * n + i]!;
      for (let j = 0; j < n; j++) out[i * n + j] = out[i * n + j]! + vi * vectors[k * n + j]!;
    }
  }
  return out;
}

/**
 * The Fréchet (2-Wasserstein) distance, squared, between N(m1, C1) and N(m2, C2):
 * ||m1 - m2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)). The trace of (C1 C2)^(1/2) is taken as the trace
 * of (S C2 S)^(1/2) with S = C1^(1/2), a symmetric PSD matrix with the same eigenvalues as C1 C2,
 * so both square roots go through the symmetric eigen-solver. Rounding below 0 is returned as 0.
 */
export function frechetDistance(a: FeatureMoments, b: FeatureMoments): number {
  const n = a.dim;
  if (b.dim !== n || a.mean.length !== n || b.mean.length !== n) {
    throw new Error(`frechetDistance: feature dimensions differ (${a.dim} and ${b.dim})`);
  }
  if (a.covariance.length !== n * n || b.covariance.length !== n * n) {
    throw new Error(`frechetDistance: covariances must be ${n} x ${n}`);
  }
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < n; i++) {
    const dm = a.mean[i]! - b.mean[i]!;
    meanTerm += dm * dm;
    traces += a.covariance[i * n + i]! + b.covariance[i * n + i]!;
  }
  const s = psdSqrt(a.covariance, n);
  const m = matMul(matMul(s, b.covariance, n), s, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (m[i * n + j]! + m[j * n + i]!);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  let traceSqrt = 0;
  for (const lambda of symmetricEigen(m, n).values) traceSqrt += Math.sqrt(Math.max(lambda, 0));
  return Math.max(0, meanTerm + traces - 2 * traceSqrt);
}
