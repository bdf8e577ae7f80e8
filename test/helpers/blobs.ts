import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../lib/random";

/** n 28x28 images of a Gaussian blob at a random place (a 2-parameter family). */
export function blobs(n: number, rng: Rng): tf.Tensor4D {
  const data = new Float32Array(n * 28 * 28);
  for (let i = 0; i < n; i++) {
    const cy = 6 + rng.uniform() * 16;
    const cx = 6 + rng.uniform() * 16;
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        data[i * 784 + y * 28 + x] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 8);
      }
  }
  return tf.tensor4d(data, [n, 1, 28, 28]);
}
