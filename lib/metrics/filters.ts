/**
 * A number for what Vincent et al. (2010) show as pictures: how spatially coherent learned
 * filters are. Noise-like filters have uncorrelated neighbouring weights; stroke and blob
 * detectors have strongly correlated ones.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Mean over filters [K, 1, H, W] of the correlation between horizontally and vertically
 * adjacent weights (each filter centred), counting only pairs of pixels inside `mask` [H, W]
 * (1 where the data varies: MNIST's border pixels are 0 in every image, so their weights
 * never move from their random initialisation and would only add noise).
 */
export function neighbourCorrelation(filters: tf.Tensor4D, mask?: tf.Tensor2D): number {
  const [k, c, h, w] = filters.shape;
  if (c !== 1 || h < 2 || w < 2) {
    throw new Error(
      `neighbourCorrelation: expected single-channel filters [K, 1, H, W] with H, W >= 2, got [${filters.shape.join(", ")}]`,
    );
  }
  if (mask !== undefined && (mask.shape[0] !== h || mask.shape[1] !== w)) {
    throw new Error(
      `neighbourCorrelation: mask [${mask.shape}] does not match filters ${h} x ${w}`,
    );
  }
  return tf.tidy(() => {
    const f = tf.reshape(filters, [k, h, w]);
    const m = mask === undefined ? tf.ones([h, w]) : tf.cast(mask, "float32");
    const centred = tf.sub(f, tf.div(tf.sum(tf.mul(f, m), [1, 2], true), tf.sum(m)));
    const pairs = (a: tf.Tensor3D, b: tf.Tensor3D, both: tf.Tensor2D): tf.Tensor1D => {
      const [am, bm] = [tf.mul(a, both), tf.mul(b, both)];
      const norm = tf.sqrt(tf.mul(tf.sum(tf.square(am), [1, 2]), tf.sum(tf.square(bm), [1, 2])));
      return tf.div(tf.sum(tf.mul(am, bm), [1, 2]), tf.maximum(norm, 1e-12));
    };
    const cf = centred as tf.Tensor3D;
    const horizontal = pairs(
      tf.slice(cf, [0, 0, 1], [k, h, w - 1]),
      tf.slice(cf, [0, 0, 0], [k, h, w - 1]),
      tf.mul(tf.slice(m, [0, 1], [h, w - 1]), tf.slice(m, [0, 0], [h, w - 1])),
    );
    const vertical = pairs(
      tf.slice(cf, [0, 1, 0], [k, h - 1, w]),
      tf.slice(cf, [0, 0, 0], [k, h - 1, w]),
      tf.mul(tf.slice(m, [1, 0], [h - 1, w]), tf.slice(m, [0, 0], [h - 1, w])),
    );
    return tf.mean(tf.add(horizontal, vertical)).dataSync()[0]! / 2;
  });
}

/** Pixels [H, W] that are not 0 in every image of [N, 1, H, W] (1 or 0). */
export function activePixels(images: tf.Tensor4D): tf.Tensor2D {
  const [, c, h, w] = images.shape;
  if (c !== 1) throw new Error(`activePixels: expected [N, 1, H, W], got [${images.shape}]`);
  return tf.tidy(() => {
    const seen: tf.Tensor2D = tf.reshape(tf.max(tf.abs(images), 0), [h, w]);
    return tf.cast(tf.greater(seen, 0), "float32") as tf.Tensor2D;
  });
}
