/**
 * 2-d convolutions with PyTorch's semantics (explicit symmetric zero padding, PyTorch's
 * output sizes and default initialisation) on NHWC tensors.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { checkSizes, weightAndBias, weightAndBiasParameters } from "./init";
import { Module, checkNhwc, pair } from "./module";

type Size2 = number | [number, number];

function toPair(what: string, v: Size2, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : v;
  if (!p.every((n) => Number.isInteger(n) && n >= min)) {
    throw new Error(`${what} must be an integer >= ${min} (or a pair of them), got ${String(v)}`);
  }
  return p;
}

export interface Conv2dOptions {
  kernelSize: Size2;
  /** Default 1. */
  stride?: Size2;
  /** Zeros added on every side, as PyTorch's `padding` (default 0). */
  padding?: Size2;
  /** Default true. */
  bias?: boolean;
  /** Initialisation stream (default: the shared "layers/init" stream). */
  rng?: Rng;
}

/** tfjs's pad argument for PyTorch's symmetric zero padding of the two spatial axes. */
function padArg([ph, pw]: [number, number]): "valid" | tf.backend_util.ExplicitPadding {
  if (ph === 0 && pw === 0) return "valid";
  return [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ];
}

/**
 * What Conv2d and ConvTranspose2d share: the checked kernel, stride and padding, a
 * [kh, kw, a, b] weight with PyTorch's initialisation, an optional bias, and the repr.
 */
export abstract class ConvLayer extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  /** [kh, kw, inC, outC] for Conv2d, [kh, kw, outC, inC] for ConvTranspose2d (tfjs layouts). */
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  /**
   * `transposed` picks the weight layout; PyTorch takes fan_in from its weight's dim 1,
   * which is inChannels for a convolution and outChannels for a transposed one.
   * `validate` runs after the geometry checks and before any weight is drawn.
   */
  protected constructor(
    layer: string,
    readonly inChannels: number,
    readonly outChannels: number,
    options: Conv2dOptions,
    transposed: boolean,
    validate: (stride: [number, number]) => void = () => {},
  ) {
    super();
    checkSizes(layer, "channel counts", inChannels, outChannels);
    this.kernelSize = toPair(`${layer} kernelSize`, options.kernelSize, 1);
    this.stride = toPair(`${layer} stride`, options.stride ?? 1, 1);
    this.padding = toPair(`${layer} padding`, options.padding ?? 0, 0);
    validate(this.stride);
    const [kh, kw] = this.kernelSize;
    const [a, b] = transposed ? [outChannels, inChannels] : [inChannels, outChannels];
    const p = weightAndBias<tf.Rank.R4>([kh, kw, a, b], a * kh * kw, outChannels, options);
    this.weight = p.weight;
    this.bias = p.bias;
  }

  protected override ownParameters(): Array<[string, tf.Variable]> {
    return weightAndBiasParameters(this.weight, this.bias);
  }

  /** PyTorch's repr of the arguments; `extra` goes before bias=False. */
  protected convRepr(extra: string): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pair(this.kernelSize)}, stride=${pair(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pair(this.padding)}`;
    s += extra;
    if (this.bias === null) s += ", bias=False";
    return s;
  }
}

/** PyTorch's nn.Conv2d: out = floor((in + 2 * padding - kernel) / stride) + 1. */
export class Conv2d extends ConvLayer {
  readonly name = "Conv2d";

  constructor(inChannels: number, outChannels: number, options: Conv2dOptions) {
    super("Conv2d", inChannels, outChannels, options, false);
  }

  /** Output spatial size for an input of size [h, w]. */
  outputSize(h: number, w: number): [number, number] {
    const o = (n: number, i: 0 | 1): number =>
      Math.floor((n + 2 * this.padding[i] - this.kernelSize[i]) / this.stride[i]) + 1;
    return [o(h, 0), o(w, 1)];
  }

  private check(x: tf.Tensor): tf.Tensor4D {
    const x4 = checkNhwc("Conv2d", x, this.inChannels);
    const [oh, ow] = this.outputSize(x4.shape[1], x4.shape[2]);
    if (oh < 1 || ow < 1) {
      throw new Error(
        `Conv2d: input ${x4.shape[1]}x${x4.shape[2]} is smaller than kernel ${this.kernelSize.join("x")} (padding ${this.padding.join("x")})`,
      );
    }
    return x4;
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    return this.forwardFused(x, "linear");
  }

  /**
   * Convolution + bias + activation in one tfjs fused op (the wasm backend fuses them when
   * no gradient is being recorded). Sequential calls this for a Conv2d followed by ReLU.
   */
  forwardFused(x: tf.Tensor, activation: "linear" | "relu"): tf.Tensor4D {
    const x4 = this.check(x);
    return tf.fused.conv2d({
      x: x4,
      filter: this.weight,
      strides: this.stride,
      pad: padArg(this.padding),
      bias: this.bias ?? undefined,
      activation,
    });
  }

  override extraRepr(): string {
    return this.convRepr("");
  }
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns at the bottom/right, as PyTorch's `output_padding` (default 0). */
  outputPadding?: Size2;
}

/**
 * PyTorch's nn.ConvTranspose2d:
 * out = (in - 1) * stride - 2 * padding + kernel + output_padding.
 * It is the gradient of a Conv2d with the same kernel, stride and padding, which is how
 * tfjs computes it (conv2dTranspose with the output size given explicitly).
 */
export class ConvTranspose2d extends ConvLayer {
  readonly name = "ConvTranspose2d";
  readonly outputPadding: [number, number];

  constructor(inChannels: number, outChannels: number, options: ConvTranspose2dOptions) {
    const outputPadding = (stride: [number, number]): [number, number] => {
      const op = toPair("ConvTranspose2d outputPadding", options.outputPadding ?? 0, 0);
      if (op[0] >= stride[0] || op[1] >= stride[1]) {
        throw new Error(
          `ConvTranspose2d: outputPadding (${op.join(", ")}) must be smaller than stride (${stride.join(", ")}), as in PyTorch`,
        );
      }
      return op;
    };
    super("ConvTranspose2d", inChannels, outChannels, options, true, outputPadding);
    this.outputPadding = outputPadding(this.stride);
  }

  /** Output spatial size for an input of size [h, w]. */
  outputSize(h: number, w: number): [number, number] {
    const o = (n: number, i: 0 | 1): number =>
      (n - 1) * this.stride[i] - 2 * this.padding[i] + this.kernelSize[i] + this.outputPadding[i];
    return [o(h, 0), o(w, 1)];
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    const x4 = checkNhwc("ConvTranspose2d", x, this.inChannels);
    const [oh, ow] = this.outputSize(x4.shape[1], x4.shape[2]);
    if (oh < 1 || ow < 1) {
      throw new Error(`ConvTranspose2d: padding ${this.padding.join("x")} leaves an empty output`);
    }
    const y = tf.conv2dTranspose(
      x4,
      this.weight,
      [x4.shape[0], oh, ow, this.outChannels],
      this.stride,
      padArg(this.padding),
    );
    return this.bias ? tf.add(y, this.bias) : y;
  }

  override extraRepr(): string {
    const op = this.outputPadding;
    return this.convRepr(op[0] !== 0 || op[1] !== 0 ? `, output_padding=${pair(op)}` : "");
  }
}
