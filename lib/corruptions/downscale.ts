/** 7.3's super-resolution input: F.avg_pool2d(original, kernel_size = factor). */
import * as tf from "@tensorflow/tfjs";
import { avgPool2d } from "../nn/functional";
import { type Corruption, checkImages } from "./corruption";

export class Downscale implements Corruption {
  readonly name = "average-pool downscale";
  readonly parameters: { readonly factor: number };
  readonly setting: string;
  readonly label: string;

  constructor(options: { factor: number } = { factor: 2 }) {
    const f = options.factor;
    if (!Number.isInteger(f) || f < 2) {
      throw new Error(`Downscale: factor must be an integer >= 2, got ${f}`);
    }
    this.parameters = { factor: f };
    this.setting = `${f}×${f} average pool`;
    this.label = `Input (${this.setting})`;
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
