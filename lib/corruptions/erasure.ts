/** Pixel erasure (Vincent et al.'s masking noise): each pixel set to 0 with probability p. */
import * as tf from "@tensorflow/tfjs";
import { CorruptionBase, checkBatch, checkProbability } from "./corruption";

export class PixelErasure extends CorruptionBase<{ readonly p: number }> {
  constructor(options: { p: number }) {
    const p = checkProbability("PixelErasure", options.p);
    super("pixel erasure", { p }, `p = ${p}`);
  }

  /** Each value of x independently kept with probability 1 - p, else 0. */
  corrupt<T extends tf.Tensor>(x: T, seed: number): T {
    checkBatch("PixelErasure", x);
    return tf.tidy(() => {
      const u = tf.randomUniform(x.shape, 0, 1, "float32", seed);
      return tf.mul(x, tf.cast(tf.greaterEqual(u, this.parameters.p), "float32"));
    });
  }
}
