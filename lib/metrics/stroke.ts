/**
 * Stroke statistics of digit images from their moments, with pixel values as ink weights: how
 * much ink, how slanted, how wide and how tall. They describe a digit's style independently of
 * which digit it is, so that a latent traversal can be judged by what it changes (see
 * disentanglement.ts). Images are [N, 1, H, W] (PyTorch's layout); negative values count as no ink.
 */
import * as tf from "@tensorflow/tfjs";

/** Per-image statistics, each an array of N numbers. */
export interface StrokeStatistics {
  /** Total ink: the sum of the pixel values (in pixels of full intensity). */
  readonly ink: Float64Array;
  /**
   * Horizontal shift per row, towards the right going up: -mu11 / mu02 from the central moments
   * (x to the right, y down the rows), the shear that deskewing removes. A "/" leans positive.
   */
  readonly slant: Float64Array;
  /** Standard deviation of x about the slant line, sqrt((mu20 - mu11^2 / mu02) / m): the width once deskewed. */
  readonly width: Float64Array;
  /** Standard deviation of y, sqrt(mu02 / m). */
  readonly height: Float64Array;
}

/** The names of the statistics, in a fixed order (for tables and loops). */
export const STROKE_STATISTICS = ["ink", "slant", "width", "height"] as const;
export type StrokeStatisticName = (typeof STROKE_STATISTICS)[number];

/**
 * Stroke statistics of images [N, 1, H, W]. An image without ink has slant, width and height 0;
 * an image whose ink lies on one row has slant 0.
 */
export function strokeStatistics(images: tf.Tensor4D): StrokeStatistics {
  const [n, c, h, w] = images.shape;
  if (images.rank !== 4 || c !== 1 || n === 0) {
    throw new Error(
      `strokeStatistics: expected grey images [N, 1, H, W] (PyTorch's layout), got [${images.shape}]`,
    );
  }
  const pixels = images.dataSync();
  const out = {
    ink: new Float64Array(n),
    slant: new Float64Array(n),
    width: new Float64Array(n),
    height: new Float64Array(n),
  };
  const size = h * w;
  for (let i = 0; i < n; i++) {
    const off = i * size;
    let m = 0;
    let sx = 0;
    let sy = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = Math.max(0, pixels[off + y * w + x]!);
        m += v;
        sx += v * x;
        sy += v * y;
      }
    }
    out.ink[i] = m;
    if (!Number.isFinite(m)) throw new Error(`strokeStatistics: image ${i} has NaN or Infinity`);
    if (m === 0) continue;
    const cx = sx / m;
    const cy = sy / m;
    let mu20 = 0;
    let mu11 = 0;
    let mu02 = 0;
    for (let y = 0; y < h; y++) {
      const dy = y - cy;
      for (let x = 0; x < w; x++) {
        const v = Math.max(0, pixels[off + y * w + x]!);
        const dx = x - cx;
        mu20 += v * dx * dx;
        mu11 += v * dx * dy;
        mu02 += v * dy * dy;
      }
    }
    const shear = mu02 > 0 ? mu11 / mu02 : 0;
    out.slant[i] = shear === 0 ? 0 : -shear; // not -0
    out.width[i] = Math.sqrt(Math.max(0, mu20 - shear * mu11) / m);
    out.height[i] = Math.sqrt(mu02 / m);
  }
  return out;
}
