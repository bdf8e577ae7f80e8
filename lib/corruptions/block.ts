/** Block masking: a k × k square, at a uniformly random position inside each image, set to 0. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { CorruptionBase, checkImages } from "./corruption";

export class BlockMasking extends CorruptionBase<{ readonly size: number }> {
  constructor(options: { size: number }) {
    const k = options.size;
    if (!Number.isInteger(k) || k < 1) {
      throw new Error(`BlockMasking: size must be a positive integer, got ${k}`);
    }
    super("block masking", { size: k }, `${k}×${k}`);
  }

  /** Top-left corners of the squares of n images of size h × w, as drawn from `seed`. */
  positions(n: number, h: number, w: number, seed: number): { top: Int32Array; left: Int32Array } {
    const k = this.parameters.size;
    if (k > h || k > w) {
      throw new Error(`BlockMasking: a ${k}×${k} block does not fit in ${h}×${w} images`);
    }
    const rng = new Rng(seed);
    const top = new Int32Array(n);
    const left = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      top[i] = rng.int(h - k + 1);
      left[i] = rng.int(w - k + 1);
    }
    return { top, left };
  }

  /** The same square in every channel of an image. */
  corrupt(x: tf.Tensor4D, seed: number): tf.Tensor4D {
    checkImages("BlockMasking", x);
    const [n, , h, w] = x.shape;
    const k = this.parameters.size;
    const { top, left } = this.positions(n, h, w, seed);
    return tf.tidy(() => {
      // inside(i, r) = top_i <= r < top_i + k, as [n, 1, h, 1] and [n, 1, 1, w] masks.
      const band = (start: Int32Array, size: number, shape: [number, number, number, number]) => {
        const s = tf.tensor2d(start, [n, 1], "int32");
        const idx = tf.range(0, size, 1, "int32").reshape([1, size]);
        const inside = tf.logicalAnd(tf.greaterEqual(idx, s), tf.less(idx, tf.add(s, k)));
        return tf.cast(inside, "float32").reshape(shape);
      };
      const square = tf.mul(band(top, h, [n, 1, h, 1]), band(left, w, [n, 1, 1, w]));
      return tf.mul(x, tf.sub(1, square));
    });
  }
}
