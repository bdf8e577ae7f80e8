/** PyTorch's nn.Linear on [N, in] tensors. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { checkSizes, weightAndBias, weightAndBiasParameters } from "./init";
import { Module } from "./module";

export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
  rng?: Rng;
}

export class Linear extends Module {
  readonly name = "Linear";
  /** [in, out] (tfjs matMul layout; PyTorch stores [out, in]). */
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkSizes("Linear", "feature counts", inFeatures, outFeatures);
    const p = weightAndBias<tf.Rank.R2>(
      [inFeatures, outFeatures],
      inFeatures,
      outFeatures,
      options,
    );
    this.weight = p.weight;
    this.bias = p.bias;
  }

  protected override ownParameters(): Array<[string, tf.Variable]> {
    return weightAndBiasParameters(this.weight, this.bias);
  }

  override forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(
        `Linear: expected shape [N, ${this.inFeatures}], got [${x.shape.join(", ")}] (add a Flatten before it?)`,
      );
    }
    return tf.fused.matMul({
      a: x as tf.Tensor2D,
      b: this.weight,
      bias: this.bias ?? undefined,
    }) as tf.Tensor2D;
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? "True" : "False"}`;
  }
}
