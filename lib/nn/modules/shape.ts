/** Reshaping modules, with PyTorch's element order (C, H, W) whatever the layout inside. */
import * as tf from "@tensorflow/tfjs";
import { fromChannelsLast, toChannelsLast } from "../layout";
import { Module } from "../module";

/** nn.Flatten(): [N, C, H, W] -> [N, C * H * W] in PyTorch's order. */
export class Flatten extends Module {
  readonly name = "Flatten";
  override forward(x: tf.Tensor): tf.Tensor {
    if (x.rank < 2) {
      throw new Error(`Flatten: expected at least 2 dimensions, got [${x.shape.join(", ")}]`);
    }
    return tf.reshape(x, [x.shape[0], -1]);
  }
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    // Back to C, H, W first, so that a Linear after it sees PyTorch's feature order.
    return tf.tidy(() => this.forward(fromChannelsLast(x)));
  }
  override extraRepr(): string {
    return "start_dim=1, end_dim=-1";
  }
}

/** nn.Unflatten(1, (C, H, W)): [N, C * H * W] -> [N, C, H, W], the inverse of Flatten. */
export class Unflatten extends Module {
  readonly name = "Unflatten";
  constructor(readonly size: readonly number[]) {
    super();
    if (size.length === 0 || !size.every((s) => Number.isInteger(s) && s > 0)) {
      throw new Error(`Unflatten: sizes must be positive integers, got [${size.join(", ")}]`);
    }
  }
  override forward(x: tf.Tensor): tf.Tensor {
    const features = this.size.reduce((a, b) => a * b, 1);
    if (x.rank !== 2 || x.shape[1] !== features) {
      throw new Error(`Unflatten: expected [N, ${features}], got [${x.shape.join(", ")}]`);
    }
    return tf.reshape(x, [x.shape[0], ...this.size]);
  }
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => toChannelsLast(this.forward(x)));
  }
  override extraRepr(): string {
    return `dim=1, unflattened_size=(${this.size.join(", ")}${this.size.length === 1 ? "," : ""})`;
  }
}
