/** 7.3's super-resolution input: F.avg_pool2d(original, kernel_size = factor). */
import * as tf from "@tensorflow/tfjs";
import { avgPool2d } from "../nn/functional";
import { CorruptionBase, checkImages } from "./corruption";

export class Downscale extends CorruptionBase<{ readonly factor: number }> {
  constructor(options: { factor: number } = { factor: 2 }) {
    const f = options.factor;
    if (!Number.isInteger(f) || f < 2) {
      throw new Error(`Downscale: factor must be an integer >= 2, got ${f}`);
    }
    super("average-pool downscale", { factor: f }, `${f}×${f} average pool`, "Input");
  }

  /** [N, C, H, W] -> [N, C, H / factor, W / factor]. Deterministic. */
  corrupt(x: tf.Tensor4D, _seed?: number): tf.Tensor4D {
    checkImages("Downscale", x);
    const f = this.parameters.factor;
    const [, , h, w] = x.shape;
    if (h % f !== 0 || w % f !== 0) {
      throw new Error(
        `Downscale: ${h}×${w} images are not divisible by the factor ${f}; crop or pad them first`,
      );
    }
    return avgPool2d(x, f);
  }
}
