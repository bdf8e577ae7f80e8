/** What convolutions and Linear share: a weight, an optional bias, and setters for both. */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../random";
import { weightAndBias } from "../init";
import { Module } from "../module";

/** Construction options of layers with parameters. */
export interface LayerInit {
  /** Default true. */
  bias?: boolean;
  /** Initialisation stream (default: the shared "nn/init" stream). */
  rng?: Rng;
}

type Values = tf.Tensor | number[] | number[][] | number[][][] | number[][][][];

export abstract class WeightedLayer extends Module {
  /** In PyTorch's shape. */
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  /** `weightShape` in PyTorch's layout; PyTorch's initialisation (see init.ts). */
  protected constructor(weightShape: number[], units: number, init: LayerInit) {
    super();
    const p = weightAndBias(weightShape, units, init);
    this.weight = p.weight;
    this.bias = p.bias;
  }

  protected override ownParameters(): Array<[string, tf.Variable]> {
    return this.bias
      ? [
          ["weight", this.weight],
          ["bias", this.bias],
        ]
      : [["weight", this.weight]];
  }

  /** Copies values into the weight, any array or tensor with as many elements (torch's copy_). */
  setWeight(values: Values): void {
    assignFrom("setWeight", this.weight, values);
  }

  /** Copies values into the bias (one per output unit). */
  setBias(values: tf.Tensor | number[]): void {
    if (this.bias === null) throw new Error(`${this.name}.setBias: built with bias: false`);
    assignFrom("setBias", this.bias, values);
  }

  /** Sets the bias to zero (bias.zero_()). */
  zeroBias(): void {
    const bias = this.bias;
    if (bias !== null) tf.tidy(() => bias.assign(tf.zerosLike(bias)));
  }
}

function assignFrom(op: string, target: tf.Variable, values: Values): void {
  const t = values instanceof tf.Tensor ? values : tf.tensor(values);
  try {
    if (t.size !== target.size) {
      throw new Error(
        `${op}: got ${t.size} values of shape [${t.shape.join(", ")}], the parameter has shape [${target.shape.join(", ")}]`,
      );
    }
    tf.tidy(() => target.assign(tf.cast(tf.reshape(t, target.shape), "float32")));
  } finally {
    if (!(values instanceof tf.Tensor)) t.dispose();
  }
}
