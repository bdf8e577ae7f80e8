/**
 * The 2-D toy distributions of lecture 7.3 (denoising autoencoders): the "open circle",
 * a ring with a gap. A noisy point near the gap may come from either end of the ring, so
 * the posterior X | X~ = x~ is bimodal and its mean E[X | X~ = x~], which an MSE-trained
 * denoiser learns, falls into the gap where the data has no mass.
 *
 * Points are plain Float32Arrays [x0, y0, x1, y1, ...] (easy to plot), or tf.Tensor2D [N, 2].
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";

export interface OpenCircleOptions {
  /** Radius of the ring (default 1). */
  readonly radius?: number;
  /** Angular width of the gap, in radians (default π/8: a chord of 0.39, about 4 noise stds). */
  readonly gap?: number;
  /** Angle of the middle of the gap, in radians (default -π/2: the opening at the bottom). */
  readonly gapCenter?: number;
  /** Std of a radial jitter of the points (default 0: on the circle). */
  readonly thickness?: number;
}

type Point = readonly [number, number];

function circleParams(options: OpenCircleOptions): Required<OpenCircleOptions> {
  const p = {
    radius: options.radius ?? 1,
    gap: options.gap ?? Math.PI / 8,
    gapCenter: options.gapCenter ?? -Math.PI / 2,
    thickness: options.thickness ?? 0,
  };
  if (!(p.radius > 0)) throw new Error(`openCircle: radius must be > 0, got ${p.radius}`);
  if (!(p.gap >= 0 && p.gap < 2 * Math.PI)) {
    throw new Error(`openCircle: gap must be in [0, 2π), got ${p.gap}`);
  }
  if (!(p.thickness >= 0)) throw new Error(`openCircle: thickness must be >= 0, got ${p.thickness}`);
  return p;
}

/** The point of the open circle at a fraction u in [0, 1) of its arc (and radial jitter z). */
function arcPoint(u: number, z: number, p: Required<OpenCircleOptions>): Point {
  const angle = p.gapCenter + p.gap / 2 + u * (2 * Math.PI - p.gap);
  const r = p.radius + p.thickness * z;
  return [r * Math.cos(angle), r * Math.sin(angle)];
}

/** n points uniformly along the open circle's arc, as [x0, y0, x1, y1, ...]. */
export function openCirclePoints(n: number, rng: Rng, options: OpenCircleOptions = {}): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new Error(`openCircle: n must be >= 0, got ${n}`);
  const p = circleParams(options);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [x, y] = arcPoint(rng.next(), p.thickness > 0 ? rng.normal() : 0, p);
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
}

/** n points of the open circle as a tf.Tensor2D [n, 2] (default stream "data/open-circle"). */
export function openCircle(
  n: number,
  rng: Rng = Rng.stream("data/open-circle"),
  options: OpenCircleOptions = {},
): tf.Tensor2D {
  return tf.tensor2d(openCirclePoints(n, rng, options), [n, 2], "float32");
}

/** Points plus independent N(0, std²) noise on each coordinate (a new array). */
export function addGaussianNoise(points: Float32Array, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i++) out[i] = points[i]! + rng.normal(0, std);
  return out;
}

/** A sample of X | X~ close to x~, from rejection sampling. */
export interface PosteriorSample {
  /** Accepted clean points X, as [x0, y0, ...]. */
  readonly points: Float32Array;
  readonly accepted: number;
  /** Pairs (X, X~) drawn in all. */
  readonly drawn: number;
  /** Mean of the accepted X (NaN when none): the estimate of E[X | X~ = x~]. */
  readonly mean: Point;
}

export interface PosteriorOptions extends OpenCircleOptions {
  /** Std of the additive Gaussian noise X~ = X + ε (default 0.1, as in the lecture). */
  readonly noiseStd?: number;
  /** Keep X when |X~ - x~| < tolerance (default 0.05). */
  readonly tolerance?: number;
  /** Stop after this many accepted points (default 1000). */
  readonly accept?: number;
  /** Stop after this many drawn pairs (default 4,000,000). */
  readonly maxDraws?: number;
  /** Generator (default Rng.stream("data/open-circle-posterior")). */
  readonly rng?: Rng;
}

/**
 * Samples X | X~ ≈ x~ for the open circle as in the lecture's figure: draws pairs
 * (X, X~ = X + ε) and keeps the X whose X~ lies within `tolerance` of x~.
 */
export function sampleOpenCirclePosterior(
  xTilde: Point,
  options: PosteriorOptions = {},
): PosteriorSample {
  const p = circleParams(options);
  const std = options.noiseStd ?? 0.1;
  const tol = options.tolerance ?? 0.05;
  const want = options.accept ?? 1000;
  const maxDraws = options.maxDraws ?? 4_000_000;
  const rng = options.rng ?? Rng.stream("data/open-circle-posterior");
  const kept: number[] = [];
  let drawn = 0;
  let sx = 0;
  let sy = 0;
  while (kept.length < 2 * want && drawn < maxDraws) {
    drawn++;
    const [x, y] = arcPoint(rng.next(), p.thickness > 0 ? rng.normal() : 0, p);
    const dx = x + rng.normal(0, std) - xTilde[0];
    const dy = y + rng.normal(0, std) - xTilde[1];
    if (dx * dx + dy * dy < tol * tol) {
      kept.push(x, y);
      sx += x;
      sy += y;
    }
  }
  const accepted = kept.length / 2;
  return {
    points: Float32Array.from(kept),
    accepted,
    drawn,
    mean: accepted > 0 ? [sx / accepted, sy / accepted] : [NaN, NaN],
  };
}

/**
 * E[X | X~ = x~] for the open circle (thickness 0) and Gaussian noise, by quadrature
 * along the arc: the exact MSE-optimal denoiser, to compare a trained one with.
 */
export function openCirclePosteriorMean(
  xTilde: Point,
  noiseStd = 0.1,
  options: OpenCircleOptions = {},
  steps = 4096,
): Point {
  const p = circleParams({ ...options, thickness: 0 });
  if ((options.thickness ?? 0) !== 0) {
    throw new Error("openCirclePosteriorMean: only for thickness 0 (use the sampler otherwise)");
  }
  // Log-weights first, then a shift by their max, so that far points do not underflow to 0/0.
  const logw = new Float64Array(steps);
  const xs = new Float64Array(steps);
  const ys = new Float64Array(steps);
  let maxLog = -Infinity;
  for (let i = 0; i < steps; i++) {
    const [x, y] = arcPoint((i + 0.5) / steps, 0, p);
    xs[i] = x;
    ys[i] = y;
    const d2 = (x - xTilde[0]) ** 2 + (y - xTilde[1]) ** 2;
    logw[i] = -d2 / (2 * noiseStd * noiseStd);
    maxLog = Math.max(maxLog, logw[i]!);
  }
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < steps; i++) {
    const w = Math.exp(logw[i]! - maxLog);
    sw += w;
    sx += w * xs[i]!;
    sy += w * ys[i]!;
  }
  return [sx / sw, sy / sw];
}
