/**
 * Batch transforms for train()'s inputTransform / targetTransform: 7.3's 2x downscaling
 * for super-resolution and additive Gaussian noise (denoising, Noise2Noise).
 */
import * as tf from "@tensorflow/tfjs";
import type { Transform } from "./train";

/** F.avg_pool2d(x, kernel_size = 2) on NHWC images: [N, 28, 28, C] -> [N, 14, 14, C]. */
export function downscale2x(x: tf.Tensor): tf.Tensor4D {
  if (x.rank !== 4 || (x.shape[1] as number) % 2 !== 0 || (x.shape[2] as number) % 2 !== 0) {
    throw new Error(
      `downscale2x: expected NHWC images with even height and width, got [${x.shape.join(", ")}]`,
    );
  }
  return tf.avgPool(x as tf.Tensor4D, 2, 2, "valid");
}

export interface NoiseOptions {
  /** Standard deviation of the noise. */
  std: number;
  /** Add noise at test time too (default true); false gives clean test targets (Noise2Noise). */
  atTest?: boolean;
}

/** x + N(0, std^2), drawn from the step's seed, so runs repeat exactly. */
export function gaussianNoise(options: NoiseOptions): Transform {
  const { std } = options;
  if (!Number.isFinite(std) || std < 0)
    throw new Error(`gaussianNoise: std must be >= 0, got ${std}`);
  const atTest = options.atTest ?? true;
  return (x, ctx) => {
    if (!ctx.training && !atTest) return x;
    return tf.add(x, tf.randomNormal(x.shape, 0, std, "float32", ctx.seed()));
  };
}
