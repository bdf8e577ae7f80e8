/**
 * Multi-layer perceptrons of 7.3: the lecture's 2-D denoiser, nn.Sequential(nn.Linear(2, 100),
 * nn.ReLU(), nn.Linear(100, 2)), and the 784-500-500-10 network of Vincent et al.'s stacked
 * denoising autoencoders (sigmoid units), whose hidden layers can be initialised from encoders.
 */
import type * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { ReLU, Sigmoid, Tanh } from "../nn/modules/activation";
import { Linear } from "../nn/modules/linear";
import { Sequential } from "../nn/modules/sequential";
import { Flatten } from "../nn/modules/shape";
import { Rng } from "../random";
import { settings } from "../settings";
import { type ConfiguredModule, type ModelConfig, positiveInt } from "./config";

export type Activation = "relu" | "sigmoid" | "tanh";

export interface MLPOptions {
  /** Feature counts from input to output, e.g. [2, 100, 2]. */
  sizes: readonly number[];
  /** Between the linear layers, none after the last (default "relu"). */
  activation?: Activation;
  /** Start with nn.Flatten(), to take images [N, C, H, W] (default false: [N, F]). */
  flatten?: boolean;
  /** Initialisation seed (default settings.seed). */
  seed?: number;
}

const ACTIVATIONS: Record<Activation, () => Module> = {
  relu: () => new ReLU(),
  sigmoid: () => new Sigmoid(),
  tanh: () => new Tanh(),
};

/** Linear layers with an activation between them, printed and saved as nn.Sequential. */
export class MLP extends Module implements ConfiguredModule {
  readonly name = "MLP";
  readonly net: Sequential;
  /** The linear layers, first to last. */
  readonly linears: readonly Linear[];
  readonly config: ModelConfig;

  constructor(options: MLPOptions) {
    super();
    const sizes = options.sizes.map((n) => positiveInt("MLP sizes", n));
    if (sizes.length < 2) {
      throw new Error(`MLP: give at least the input and output sizes, got [${sizes.join(", ")}]`);
    }
    const activation = options.activation ?? "relu";
    if (!(activation in ACTIVATIONS)) {
      throw new Error(`MLP: activation must be relu, sigmoid or tanh, got "${String(activation)}"`);
    }
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("MLP/init", seed);
    const linears = sizes.slice(1).map((n, i) => new Linear(sizes[i]!, n, { rng }));
    const layers: Module[] = options.flatten ? [new Flatten()] : [];
    linears.forEach((l, i) => {
      layers.push(l);
      if (i < linears.length - 1) layers.push(ACTIVATIONS[activation]());
    });
    this.net = new Sequential(...layers);
    this.linears = linears;
    this.config = {
      model: "MLP",
      sizes: sizes.join("-"),
      activation,
      flatten: options.flatten ?? false,
      seed,
    };
  }

  override children(): Array<[string, Module]> {
    return this.net.children();
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return this.net.forwardChannelsLast(x);
  }

  /**
   * Copies trained layers into the first linear layers (Vincent et al.'s initialisation of
   * a deep network from the encoders of stacked denoising autoencoders).
   */
  initialiseFrom(layers: readonly Linear[]): void {
    if (layers.length >= this.linears.length) {
      throw new Error(
        `MLP.initialiseFrom: got ${layers.length} layers for a network of ${this.linears.length}; the last layer is never pretrained`,
      );
    }
    layers.forEach((l, i) => (this.linears[i] as Linear).loadStateDict(l.stateDict()));
  }
}
