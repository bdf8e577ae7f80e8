/**
 * Is each dimension of a latent code N(0, 1)? The measures of lecture 7.4's "are the latent
 * features normal?": per-dimension mean and standard deviation, the Kolmogorov–Smirnov distance
 * to N(0, 1) and to the normal fitted to the dimension, and a VAE's active units.
 *
 * Codes are [N, d] or [N, d, 1, 1] (PyTorch's layout); sums are taken in Float64.
 */
import * as tf from "@tensorflow/tfjs";

/** Codes as a row-major N x d matrix of Float64. */
interface CodeMatrix {
  readonly n: number;
  readonly d: number;
  readonly values: Float64Array;
}

function codeMatrix(codes: tf.Tensor, where: string): CodeMatrix {
  const [n = 0, d = 0, ...rest] = codes.shape;
  const ok = (codes.rank === 2 || (codes.rank === 4 && rest[0] === 1 && rest[1] === 1)) && n > 0;
  if (!ok) {
    throw new Error(
      `${where}: expected codes [N, d] or [N, d, 1, 1] (PyTorch's layout) with N >= 1, got [${codes.shape}]`,
    );
  }
  const values = Float64Array.from(codes.dataSync());
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new Error(`${where}: code ${Math.floor(i / d)}, dimension ${i % d} is ${values[i]}`);
    }
  }
  return { n, d, values };
}

function column(m: CodeMatrix, j: number): Float64Array {
  const out = new Float64Array(m.n);
  for (let i = 0; i < m.n; i++) out[i] = m.values[i * m.d + j]!;
  return out;
}

/**
 * The cumulative distribution function of N(mean, std^2). Marsaglia's series (J. Stat. Softw.
 * 11(4), 2004), Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/(3*5) + ...): all terms of one sign, so the
 * absolute error stays near 1e-15; beyond 8.5 standard deviations Phi is 0 or 1 to that accuracy.
 */
export function normalCdf(x: number, mean = 0, std = 1): number {
  if (!(std > 0)) throw new Error(`normalCdf: std must be > 0, got ${std}`);
  const t = (x - mean) / std;
  if (Number.isNaN(t)) return NaN;
  if (t <= -8.5) return 0;
  if (t >= 8.5) return 1;
  let term = t;
  let sum = t;
  const t2 = t * t;
  for (let k = 3; Math.abs(term) > 1e-17 * Math.abs(sum); k += 2) {
    term *= t2 / k;
    sum += term;
  }
  return 0.5 + sum * Math.exp(-0.5 * t2 - 0.9189385332046728); // log sqrt(2 pi)
}

/**
 * The Kolmogorov–Smirnov distance sup_x |F_n(x) - F(x)| between the empirical distribution of
 * `sample` and a continuous distribution given by its cdf: 0 for a perfect match, 1 at worst.
 */
export function ksDistance(sample: ArrayLike<number>, cdf: (x: number) => number): number {
  const n = sample.length;
  if (n === 0) throw new Error("ksDistance: the sample is empty");
  const sorted = Float64Array.from(sample).sort();
  if (Number.isNaN(sorted[n - 1]!)) throw new Error("ksDistance: the sample has NaN");
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(sorted[i]!);
    // F_n jumps from i/n to (i+1)/n at the i-th order statistic (ties give the same bound).
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/**
 * The KS distance below which a sample of n draws from the hypothesised distribution falls with
 * probability 1 - alpha (Kolmogorov's asymptotic c(alpha) / sqrt(n); 1.358 / sqrt(n) at 5%).
 * Only meaningful against a distribution fixed in advance, such as N(0, 1).
 */
export function ksCriticalValue(n: number, alpha = 0.05): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`ksCriticalValue: n must be >= 1, got ${n}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`ksCriticalValue: alpha must be in (0, 1)`);
  return Math.sqrt(-0.5 * Math.log(alpha / 2)) / Math.sqrt(n);
}

/** One latent dimension, described over a set of codes. */
export interface DimensionStatistics {
  /** 0-based index of the dimension. */
  readonly dim: number;
  readonly mean: number;
  /** Unbiased (N - 1), as gaussianFit. */
  readonly std: number;
  /** KS distance of the dimension's values to N(0, 1). */
  readonly ksStandardNormal: number;
  /**
   * KS distance to N(mean, std^2) fitted to the same values (Lilliefors' statistic): the shape's
   * departure from normality, whatever the location and scale. NaN when std is 0.
   */
  readonly ksFittedNormal: number;
}

/** Mean, standard deviation and normality of each dimension of codes [N, d] or [N, d, 1, 1]. */
export function latentStatistics(codes: tf.Tensor): DimensionStatistics[] {
  const m = codeMatrix(codes, "latentStatistics");
  if (m.n < 2) throw new Error(`latentStatistics: need at least 2 codes, got ${m.n}`);
  return Array.from({ length: m.d }, (_, dim) => {
    const x = column(m, dim);
    let sum = 0;
    for (const v of x) sum += v;
    const mean = sum / m.n;
    let ss = 0;
    for (const v of x) ss += (v - mean) * (v - mean);
    const std = Math.sqrt(ss / (m.n - 1));
    return {
      dim,
      mean,
      std,
      ksStandardNormal: ksDistance(x, (v) => normalCdf(v)),
      ksFittedNormal: std > 0 ? ksDistance(x, (v) => normalCdf(v, mean, std)) : NaN,
    };
  });
}
