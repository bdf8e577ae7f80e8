/**
 * Latent traversals (Higgins et al. 2017): keep a code, set one of its dimensions to each of a list
 * of values, decode. Codes are [B, d, 1, 1] and images [M, C, H, W] (PyTorch's layout).
 */
import * as tf from "@tensorflow/tfjs";

/** g: codes [M, d, 1, 1] -> images [M, C, H, W]; must not dispose its input. */
export type DecodeCodes = (z: tf.Tensor4D) => tf.Tensor4D;

/**
 * For every base code b, every dimension dims[i] and every value values[k], the decoded code b
 * with that dimension set to the value: images [B * D * K, C, H, W], in that order (with one base
 * code, a D x K grid whose rows are the dimensions). Decodes one dimension at a time (B * K codes).
 */
export function latentTraversal(
  decode: DecodeCodes,
  codes: tf.Tensor4D,
  dims: readonly number[],
  values: readonly number[],
): tf.Tensor4D {
  const [b, d, h, w] = codes.shape;
  if (codes.rank !== 4 || h !== 1 || w !== 1 || b === 0) {
    throw new Error(
      `latentTraversal: expected codes [B, d, 1, 1] (PyTorch's layout), got [${codes.shape}]`,
    );
  }
  if (dims.length === 0 || !dims.every((j) => Number.isInteger(j) && j >= 0 && j < d)) {
    throw new Error(`latentTraversal: dims must be indices in [0, ${d}), got [${dims}]`);
  }
  if (values.length === 0 || !values.every(Number.isFinite)) {
    throw new Error(`latentTraversal: values must be finite numbers, got [${values}]`);
  }
  const base = codes.dataSync();
  const k = values.length;
  const perDim: tf.Tensor4D[] = [];
  try {
    for (const j of dims) {
      perDim.push(
        tf.tidy(() => {
          const z = new Float32Array(b * k * d);
          for (let i = 0; i < b; i++) {
            for (let v = 0; v < k; v++) {
              const row = (i * k + v) * d;
              z.set(base.subarray(i * d, (i + 1) * d), row);
              z[row + j] = values[v]!;
            }
          }
          return decode(tf.tensor4d(z, [b * k, d, 1, 1]));
        }),
      );
    }
    return tf.tidy(() => {
      // [D, B * K, C, H, W] -> [B, D, K, C * H * W] -> [B * D * K, C, H, W]
      const [, c, ih, iw] = (perDim[0] as tf.Tensor4D).shape;
      const stacked = tf.reshape(tf.stack(perDim), [dims.length, b, k, c * ih * iw]);
      return tf.reshape(tf.transpose(stacked, [1, 0, 2, 3]), [b * dims.length * k, c, ih, iw]);
    });
  } finally {
    tf.dispose(perDim);
  }
}
