/**
 * Pixel-wise noises: additive Gaussian (unbiased: Noise2Noise's L2 case), random-valued
 * impulse (median-preserving for p < 0.5: its L1 case) and salt-and-pepper (Vincent et al.).
 * None clips to [0, 1]: clipping would bias the Gaussian noise.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { CorruptionBase, checkBatch, checkPositive, checkProbability } from "./corruption";

/** x + ε with ε ~ N(0, σ²) independently on every value. */
export class GaussianNoise extends CorruptionBase<{ readonly sigma: number }> {
  constructor(options: { sigma: number }) {
    const sigma = checkPositive("GaussianNoise", "sigma", options.sigma);
    super("gaussian noise", { sigma }, `σ = ${sigma}`, "Gaussian noise");
  }

  corrupt<T extends tf.Tensor>(x: T, seed: number): T {
    checkBatch("GaussianNoise", x);
    return tf.tidy(() =>
      tf.add(x, tf.randomNormal(x.shape, 0, this.parameters.sigma, "float32", seed)),
    );
  }
}

/** Each value replaced with probability p by `value(u)` (u a fresh uniform in [0, 1)). */
function replaceAtRandom<T extends tf.Tensor>(
  x: T,
  p: number,
  seed: number,
  value: (u: tf.Tensor) => tf.Tensor,
): T {
  const rng = new Rng(seed);
  return tf.tidy(() => {
    const hit = tf.less(tf.randomUniform(x.shape, 0, 1, "float32", rng.seed()), p);
    const u = tf.randomUniform(x.shape, 0, 1, "float32", rng.seed());
    return tf.where(hit, value(u), x) as T;
  });
}

/** Random-valued impulse noise: each value replaced with probability p by a uniform in [0, 1]. */
export class ImpulseNoise extends CorruptionBase<{ readonly p: number }> {
  constructor(options: { p: number }) {
    const p = checkProbability("ImpulseNoise", options.p);
    super("impulse noise", { p }, `p = ${p}`, "Impulse noise");
  }

  corrupt<T extends tf.Tensor>(x: T, seed: number): T {
    checkBatch("ImpulseNoise", x);
    return replaceAtRandom(x, this.parameters.p, seed, (u) => u);
  }
}

/** Salt-and-pepper: each value replaced with probability p by 0 or 1 (a fair coin). */
export class SaltAndPepper extends CorruptionBase<{ readonly p: number }> {
  constructor(options: { p: number }) {
    const p = checkProbability("SaltAndPepper", options.p);
    super("salt and pepper", { p }, `p = ${p}`, "Salt-and-pepper");
  }

  corrupt<T extends tf.Tensor>(x: T, seed: number): T {
    checkBatch("SaltAndPepper", x);
    return replaceAtRandom(
      x,
      this.parameters.p,
      seed,
      (u) => tf.cast(tf.less(u, 0.5), "float32") as tf.Tensor4D,
    );
  }
}
