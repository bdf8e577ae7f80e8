/**
 * Images picked by index, without index tensors in the notebooks: the items a figure shows
 * (the least confident reconstructions, the best and worst), and random pairs of test
 * images for interpolations.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";

/** The images at `indices`, in that order: [indices.length, C, H, W]. */
export function pick(images: tf.Tensor4D, indices: readonly number[]): tf.Tensor4D {
  const n = images.shape[0];
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new Error(`pick: index ${i} is not an image of the ${n} given`);
    }
  }
  return tf.tidy(() => tf.gather(images, tf.tensor1d(indices as number[], "int32")));
}

/** The indices of `values` in increasing order (decreasing with `descending`). */
export function order(values: ArrayLike<number>, descending = false): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  const sign = descending ? -1 : 1;
  return idx.sort((a, b) => sign * (values[a]! - values[b]!) || a - b);
}

/** `n` random pairs of images (drawn with replacement by `rng`): the two ends, [n, C, H, W] each. */
export function randomPairs(
  images: tf.Tensor4D,
  n: number,
  rng: Rng,
): [tf.Tensor4D, tf.Tensor4D] {
  const count = images.shape[0];
  const draw = (): number[] => Array.from({ length: n }, () => rng.int(count));
  const [a, b] = [draw(), draw()];
  return [pick(images, a), pick(images, b)];
}
