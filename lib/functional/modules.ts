/**
 * Module-style wrappers (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d):
 * weight and bias held as tfjs variables, initialised as PyTorch does (uniform in
 * +-1/sqrt(fan_in), fan_in = weight.shape[1] * kernel area, so for transposed
 * convolutions the *output* channels count, as in PyTorch), settable like the lecture's
 * `m.weight.copy_(...)` / `m.bias.zero_()`.
 */
import * as tf from "@tensorflow/tfjs";

import { uniformVariable } from "../layers/init";
import { Rng } from "../random";
import { conv1d, conv2d, convTranspose1d, convTranspose2d } from "./conv";
import type {
  Conv1dOptions,
  Conv2dOptions,
  ConvTranspose1dOptions,
  ConvTranspose2dOptions,
  Pair,
} from "./shapes";

/** Construction options shared by the modules. */
export interface ModuleInit {
  /** Default true. */
  bias?: boolean;
  /** Where the initial weights are drawn from; default a shared "functional.modules" stream. */
  rng?: Rng;
}

let defaultRng: Rng | null = null;
function sharedRng(): Rng {
  defaultRng ??= Rng.stream("functional.modules");
  return defaultRng;
}

/** One of the functional convolutions: x, weight, bias and options to the result. */
type ConvOp<X extends tf.Tensor, W extends tf.Tensor, O> = <T extends X>(
  x: T,
  weight: W,
  bias: tf.Tensor1D | null,
  options: O,
) => T;

/** Shared weight/bias handling, and apply() through the module's functional op. */
abstract class ConvModule<X extends tf.Tensor, W extends tf.Tensor, O> {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  protected constructor(
    private readonly op: ConvOp<X, W, O>,
    weightShape: number[],
    readonly inChannels: number,
    readonly outChannels: number,
    readonly options: O & ModuleInit,
  ) {
    const rng = options.rng ?? sharedRng();
    const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = uniformVariable(weightShape, bound, rng);
    this.bias = options.bias === false ? null : uniformVariable([outChannels], bound, rng);
  }

  /** The convolution of x with the current weight and bias (see the class for shapes). */
  apply<T extends X>(x: T): T {
    return this.op(x, this.weight as tf.Tensor as W, this.bias as tf.Tensor1D | null, this.options);
  }

  /** Copies values into the weight; any array or tensor with as many elements (like torch's copy_). */
  setWeight(values: tf.Tensor | number[] | number[][] | number[][][] | number[][][][]): void {
    const t = values instanceof tf.Tensor ? values : tf.tensor(values);
    try {
      if (t.size !== this.weight.size) {
        throw new Error(
          `setWeight: got ${t.size} values of shape [${t.shape.join(", ")}], the weight has shape [${this.weight.shape.join(", ")}]`,
        );
      }
      tf.tidy(() => this.weight.assign(t.reshape(this.weight.shape).toFloat()));
    } finally {
      if (!(values instanceof tf.Tensor)) t.dispose();
    }
  }

  /** Copies values into the bias (one per output channel). */
  setBias(values: tf.Tensor | number[]): void {
    if (this.bias === null) throw new Error("setBias: this module was built with bias: false");
    const bias = this.bias;
    const t = values instanceof tf.Tensor ? values : tf.tensor(values);
    try {
      if (t.size !== bias.size) {
        throw new Error(`setBias: got ${t.size} values, the bias has ${bias.size}`);
      }
      tf.tidy(() => bias.assign(t.reshape(bias.shape).toFloat()));
    } finally {
      if (!(values instanceof tf.Tensor)) t.dispose();
    }
  }

  /** Sets the bias to zero (bias.zero_()). */
  zeroBias(): void {
    const bias = this.bias;
    if (bias !== null) tf.tidy(() => bias.assign(tf.zerosLike(bias)));
  }

  /** The trainable variables, weight first. */
  parameters(): tf.Variable[] {
    return this.bias === null ? [this.weight] : [this.weight, this.bias];
  }

  /** Frees the weight and bias. */
  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}

const kPair = (k: number | Pair): Pair => (typeof k === "number" ? [k, k] : k);

/** nn.Conv1d: weight [out, in, k]; apply: [N, in, W] → [N, out, W']. */
export class Conv1d extends ConvModule<tf.Tensor2D | tf.Tensor3D, tf.Tensor3D, Conv1dOptions> {
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number,
    options: Conv1dOptions & ModuleInit = {},
  ) {
    super(conv1d, [outChannels, inChannels, kernelSize], inChannels, outChannels, options);
  }
}

/** nn.Conv2d: weight [out, in, kh, kw]; apply: [N, in, H, W] → [N, out, H', W']. */
export class Conv2d extends ConvModule<tf.Tensor3D | tf.Tensor4D, tf.Tensor4D, Conv2dOptions> {
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number | Pair,
    options: Conv2dOptions & ModuleInit = {},
  ) {
    super(
      conv2d,
      [outChannels, inChannels, ...kPair(kernelSize)],
      inChannels,
      outChannels,
      options,
    );
  }
}

/**
 * nn.ConvTranspose1d: weight [in, out, k];
 * apply: [N, in, W] → [N, out, (W-1)s - 2p + d(k-1) + outputPadding + 1].
 */
export class ConvTranspose1d extends ConvModule<
  tf.Tensor2D | tf.Tensor3D,
  tf.Tensor3D,
  ConvTranspose1dOptions
> {
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number,
    options: ConvTranspose1dOptions & ModuleInit = {},
  ) {
    super(convTranspose1d, [inChannels, outChannels, kernelSize], inChannels, outChannels, options);
  }
}

/** nn.ConvTranspose2d: weight [in, out, kh, kw]; apply: [N, in, H, W] → [N, out, H', W']. */
export class ConvTranspose2d extends ConvModule<
  tf.Tensor3D | tf.Tensor4D,
  tf.Tensor4D,
  ConvTranspose2dOptions
> {
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number | Pair,
    options: ConvTranspose2dOptions & ModuleInit = {},
  ) {
    super(
      convTranspose2d,
      [inChannels, outChannels, ...kPair(kernelSize)],
      inChannels,
      outChannels,
      options,
    );
  }
}
