/** nn.Linear on [N, in] tensors: weight [out, in] (PyTorch's), y = x W^T + b. */
import * as tf from "@tensorflow/tfjs";
import type { FusedActivation } from "../convolution";
import { type LayerInit, WeightedLayer } from "./weighted";

export class Linear extends WeightedLayer {
  readonly name = "Linear";

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LayerInit = {},
  ) {
    for (const n of [inFeatures, outFeatures]) {
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(
          `Linear: feature counts must be positive integers, got (${inFeatures}, ${outFeatures})`,
        );
      }
    }
    super([outFeatures, inFeatures], outFeatures, options);
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return this.forwardFused(x, "linear");
  }

  /** x W^T + b with an activation in the same tfjs op (Sequential fuses Linear, ReLU). */
  forwardFused(x: tf.Tensor, activation: FusedActivation): tf.Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(
        `Linear: expected shape [N, ${this.inFeatures}], got [${x.shape.join(", ")}] (add a Flatten before it?)`,
      );
    }
    // W^T made explicitly: matMul's transpose flags are many times slower on wasm.
    return tf.tidy(() =>
      tf.fused.matMul({
        a: x as tf.Tensor2D,
        b: tf.transpose(this.weight as tf.Tensor2D),
        bias: this.bias ?? undefined,
        activation,
      }),
    );
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? "True" : "False"}`;
  }
}
