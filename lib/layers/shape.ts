/** Reshaping modules. */
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";

/**
 * nn.Flatten(): [N, ...] -> [N, prod(...)]. On NHWC tensors the feature order is
 * H, W, C (PyTorch's is C, H, W); only a Linear after it sees the order.
 */
export class Flatten extends Module {
  readonly name = "Flatten";
  override forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank < 2)
      throw new Error(`Flatten: expected at least 2 dimensions, got [${x.shape.join(", ")}]`);
    return tf.reshape(x, [x.shape[0], -1]);
  }
  override extraRepr(): string {
    return "start_dim=1, end_dim=-1";
  }
}

/** [N, F] -> [N, H, W, C] (NHWC), the inverse of Flatten; printed with C x H x W like nn.Unflatten. */
export class Unflatten extends Module {
  readonly name = "Unflatten";
  constructor(readonly chw: [number, number, number]) {
    super();
  }
  override forward(x: tf.Tensor): tf.Tensor4D {
    const [c, h, w] = this.chw;
    if (x.rank !== 2 || x.shape[1] !== c * h * w) {
      throw new Error(`Unflatten: expected [N, ${c * h * w}], got [${x.shape.join(", ")}]`);
    }
    return tf.reshape(x, [x.shape[0], h, w, c]);
  }
  override extraRepr(): string {
    return `dim=1, unflattened_size=(${this.chw.join(", ")})`;
  }
}
