/**
 * 2-d convolutions with PyTorch's semantics (explicit symmetric zero padding, PyTorch's
 * output sizes and default initialisation) on NHWC tensors.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { defaultInitRng, pytorchBound, uniformVariable } from "./init";
import { Module, checkNhwc, pair } from "./module";

type Size2 = number | [number, number];

function toPair(what: string, v: Size2, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : v;
  if (!p.every((n) => Number.isInteger(n) && n >= min)) {
    throw new Error(`${what} must be an integer >= ${min} (or a pair of them), got ${String(v)}`);
  }
  return p;
}

function checkChannels(layer: string, inC: number, outC: number): void {
  if (!Number.isInteger(inC) || inC <= 0 || !Number.isInteger(outC) || outC <= 0) {
    throw new Error(`${layer}: channel counts must be positive integers, got (${inC}, ${outC})`);
  }
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

/** PyTorch's nn.Conv2d: out = floor((in + 2 * padding - kernel) / stride) + 1. */
export class Conv2d extends Module {
  readonly name = "Conv2d";
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  /** [kh, kw, inC, outC] (tfjs layout; PyTorch stores [outC, inC, kh, kw]). */
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: Conv2dOptions,
  ) {
    super();
    checkChannels("Conv2d", inChannels, outChannels);
    this.kernelSize = toPair("Conv2d kernelSize", options.kernelSize, 1);
    this.stride = toPair("Conv2d stride", options.stride ?? 1, 1);
    this.padding = toPair("Conv2d padding", options.padding ?? 0, 0);
    const rng = options.rng ?? defaultInitRng();
    const [kh, kw] = this.kernelSize;
    const bound = pytorchBound(inChannels * kh * kw);
    this.weight = uniformVariable(
      [kh, kw, inChannels, outChannels],
      bound,
      rng,
    ) as tf.Variable<tf.Rank.R4>;
    this.bias =
      options.bias === false
        ? null
        : (uniformVariable([outChannels], bound, rng) as tf.Variable<tf.Rank.R1>);
  }

  protected override ownParameters(): Array<[string, tf.Variable]> {
    return this.bias
      ? [
          ["weight", this.weight],
          ["bias", this.bias],
        ]
      : [["weight", this.weight]];
  }

  /** Output spatial size for an input of size [h, w]. */
  outputSize(h: number, w: number): [number, number] {
    const o = (n: number, i: 0 | 1): number =>
      Math.floor((n + 2 * this.padding[i] - this.kernelSize[i]) / this.stride[i]) + 1;
    return [o(h, 0), o(w, 1)];
  }

  private padArg(): "valid" | tf.backend_util.ExplicitPadding {
    const [ph, pw] = this.padding;
    if (ph === 0 && pw === 0) return "valid";
    return [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ];
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
      pad: this.padArg(),
      bias: this.bias ?? undefined,
      activation,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pair(this.kernelSize)}, stride=${pair(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pair(this.padding)}`;
    if (this.bias === null) s += ", bias=False";
    return s;
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
export class ConvTranspose2d extends Module {
  readonly name = "ConvTranspose2d";
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  /** [kh, kw, outC, inC] (tfjs layout; PyTorch stores [inC, outC, kh, kw]). */
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: ConvTranspose2dOptions,
  ) {
    super();
    checkChannels("ConvTranspose2d", inChannels, outChannels);
    this.kernelSize = toPair("ConvTranspose2d kernelSize", options.kernelSize, 1);
    this.stride = toPair("ConvTranspose2d stride", options.stride ?? 1, 1);
    this.padding = toPair("ConvTranspose2d padding", options.padding ?? 0, 0);
    this.outputPadding = toPair("ConvTranspose2d outputPadding", options.outputPadding ?? 0, 0);
    for (const i of [0, 1] as const) {
      if (this.outputPadding[i] >= this.stride[i]) {
        throw new Error(
          `ConvTranspose2d: outputPadding (${this.outputPadding.join(", ")}) must be smaller than stride (${this.stride.join(", ")}), as in PyTorch`,
        );
      }
    }
    const rng = options.rng ?? defaultInitRng();
    const [kh, kw] = this.kernelSize;
    // PyTorch takes fan_in from weight dim 1, which for a transposed conv is outChannels.
    const bound = pytorchBound(outChannels * kh * kw);
    this.weight = uniformVariable(
      [kh, kw, outChannels, inChannels],
      bound,
      rng,
    ) as tf.Variable<tf.Rank.R4>;
    this.bias =
      options.bias === false
        ? null
        : (uniformVariable([outChannels], bound, rng) as tf.Variable<tf.Rank.R1>);
  }

  protected override ownParameters(): Array<[string, tf.Variable]> {
    return this.bias
      ? [
          ["weight", this.weight],
          ["bias", this.bias],
        ]
      : [["weight", this.weight]];
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
    const [ph, pw] = this.padding;
    const pad: "valid" | tf.backend_util.ExplicitPadding =
      ph === 0 && pw === 0
        ? "valid"
        : [
            [0, 0],
            [ph, ph],
            [pw, pw],
            [0, 0],
          ];
    const y = tf.conv2dTranspose(
      x4,
      this.weight,
      [x4.shape[0], oh, ow, this.outChannels],
      this.stride,
      pad,
    );
    return this.bias ? tf.add(y, this.bias) : y;
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pair(this.kernelSize)}, stride=${pair(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${pair(this.padding)}`;
    if (this.outputPadding[0] !== 0 || this.outputPadding[1] !== 0) {
      s += `, output_padding=${pair(this.outputPadding)}`;
    }
    if (this.bias === null) s += ", bias=False";
    return s;
  }
}
