/** Gaussian blur: a separable Gaussian kernel truncated at 3σ, zero padding, the size kept. */
import * as tf from "@tensorflow/tfjs";
import { conv2d } from "../nn/functional";
import { CorruptionBase, checkImages, checkPositive } from "./corruption";

/** The normalised 1-D kernel exp(-i² / 2σ²), i = -r..r with r = ceil(3σ). */
export function gaussianKernel1d(sigma: number): Float32Array {
  checkPositive("gaussianKernel1d", "sigma", sigma);
  const r = Math.ceil(3 * sigma);
  const w = Array.from({ length: 2 * r + 1 }, (_, i) =>
    Math.exp(-((i - r) ** 2) / (2 * sigma ** 2)),
  );
  const total = w.reduce((a, b) => a + b, 0);
  return Float32Array.from(w, (v) => v / total);
}

export class GaussianBlur extends CorruptionBase<{ readonly sigma: number }> {
  private readonly kernel: Float32Array;

  constructor(options: { sigma: number }) {
    const sigma = checkPositive("GaussianBlur", "sigma", options.sigma);
    super("gaussian blur", { sigma }, `σ = ${sigma}`);
    this.kernel = gaussianKernel1d(options.sigma);
  }

  /** Each channel blurred on its own: a vertical then a horizontal pass. Deterministic. */
  corrupt(x: tf.Tensor4D, _seed?: number): tf.Tensor4D {
    checkImages("GaussianBlur", x);
    const [n, c, h, w] = x.shape;
    const k = this.kernel.length;
    const r = (k - 1) / 2;
    return tf.tidy(() => {
      const planes: tf.Tensor4D = tf.reshape(x, [n * c, 1, h, w]);
      const vertical = conv2d(planes, tf.tensor4d(this.kernel, [1, 1, k, 1]), null, {
        padding: [r, 0],
      });
      const both = conv2d(vertical, tf.tensor4d(this.kernel, [1, 1, 1, k]), null, {
        padding: [0, r],
      });
      return tf.reshape(both, [n, c, h, w]);
    });
  }
}
