/**
 * nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d: PyTorch-shaped weights
 * (conv [out, in, k...], transposed conv [in, out, k...]), PyTorch's initialisation and
 * repr, computed by the convolution core that F.* uses.
 */
import * as tf from "@tensorflow/tfjs";
import {
  type FusedActivation,
  conv1dChannelsLast,
  conv2dChannelsLast,
  convTranspose1dChannelsLast,
  convTranspose2dChannelsLast,
} from "../convolution";
import {
  type Conv1dOptions,
  type ConvGeometry,
  type ConvOptions,
  type ConvTranspose1dOptions,
  type ConvTransposeGeometry,
  type ConvTransposeOptions,
  type Pair,
  resolveConv,
  resolveConv1d,
  resolveConvTranspose,
  resolveConvTranspose1d,
} from "../geometry";
import { type LayerInit, WeightedLayer } from "./weighted";

function checkChannels(layer: string, inChannels: number, outChannels: number): void {
  for (const n of [inChannels, outChannels]) {
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(
        `${layer}: channel counts must be positive integers, got (${inChannels}, ${outChannels})`,
      );
    }
  }
}

/** PyTorch's tuple text: "(5, 5)" for images, "(3,)" for signals. */
function tuple(p: Pair, dims: 1 | 2): string {
  return dims === 1 ? `(${p[1]},)` : `(${p[0]}, ${p[1]})`;
}

/** The arguments PyTorch prints, in its order. */
function convRepr(
  layer: { inChannels: number; outChannels: number; bias: tf.Variable | null },
  dims: 1 | 2,
  g: { kernel: Pair; stride: Pair; dilation: Pair },
  padding: Pair | string,
  outputPadding: Pair | null,
): string {
  const zero = (p: Pair): boolean => p[0] === 0 && p[1] === 0;
  let s = `${layer.inChannels}, ${layer.outChannels}, kernel_size=${tuple(g.kernel, dims)}, stride=${tuple(g.stride, dims)}`;
  if (typeof padding === "string") s += `, padding=${padding}`;
  else if (!zero(padding)) s += `, padding=${tuple(padding, dims)}`;
  if (g.dilation[0] !== 1 || g.dilation[1] !== 1) s += `, dilation=${tuple(g.dilation, dims)}`;
  if (outputPadding !== null && !zero(outputPadding)) {
    s += `, output_padding=${tuple(outputPadding, dims)}`;
  }
  if (layer.bias === null) s += ", bias=False";
  return s;
}

/** The padding as PyTorch prints it: a tuple, or 'same' / 'valid' when given as a word. */
function paddingRepr(padding: unknown, g: ConvGeometry): Pair | string {
  return typeof padding === "string" ? padding : g.padBefore;
}

/** nn.Conv2d: weight [out, in, kh, kw]; [N, in, H, W] -> [N, out, H', W']. */
export class Conv2d extends WeightedLayer {
  readonly name = "Conv2d";
  readonly geometry: ConvGeometry;
  private readonly paddingArg: ConvOptions["padding"];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | Pair,
    options: ConvOptions & LayerInit = {},
  ) {
    checkChannels("Conv2d", inChannels, outChannels);
    const geometry = resolveConv("Conv2d", kernelSize, options);
    super([outChannels, inChannels, ...geometry.kernel], outChannels, options);
    this.geometry = geometry;
    this.paddingArg = options.padding;
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return this.forwardFused(x, "linear");
  }

  /** The convolution with an activation in the same tfjs op (Sequential fuses Conv2d, ReLU). */
  forwardFused(x: tf.Tensor, activation: FusedActivation): tf.Tensor {
    return conv2dChannelsLast("Conv2d", x, this.weight, this.bias, this.geometry, activation);
  }

  override extraRepr(): string {
    return convRepr(this, 2, this.geometry, paddingRepr(this.paddingArg, this.geometry), null);
  }
}

/** nn.ConvTranspose2d: weight [in, out, kh, kw]; [N, in, H, W] -> [N, out, H', W']. */
export class ConvTranspose2d extends WeightedLayer {
  readonly name = "ConvTranspose2d";
  readonly geometry: ConvTransposeGeometry;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | Pair,
    options: ConvTransposeOptions & LayerInit = {},
  ) {
    checkChannels("ConvTranspose2d", inChannels, outChannels);
    const geometry = resolveConvTranspose("ConvTranspose2d", kernelSize, options);
    super([inChannels, outChannels, ...geometry.kernel], outChannels, options);
    this.geometry = geometry;
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return convTranspose2dChannelsLast("ConvTranspose2d", x, this.weight, this.bias, this.geometry);
  }

  override extraRepr(): string {
    const g = this.geometry;
    return convRepr(this, 2, g, g.padding, g.outputPadding);
  }
}

/** nn.Conv1d: weight [out, in, k]; [N, in, W] -> [N, out, W']. */
export class Conv1d extends WeightedLayer {
  readonly name = "Conv1d";
  readonly geometry: ConvGeometry;
  private readonly paddingArg: Conv1dOptions["padding"];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    options: Conv1dOptions & LayerInit = {},
  ) {
    checkChannels("Conv1d", inChannels, outChannels);
    const geometry = resolveConv1d("Conv1d", kernelSize, options);
    super([outChannels, inChannels, kernelSize], outChannels, options);
    this.geometry = geometry;
    this.paddingArg = options.padding;
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return conv1dChannelsLast("Conv1d", x, this.weight, this.bias, this.geometry);
  }

  override extraRepr(): string {
    return convRepr(this, 1, this.geometry, paddingRepr(this.paddingArg, this.geometry), null);
  }
}

/** nn.ConvTranspose1d: weight [in, out, k]; [N, in, W] -> [N, out, W']. */
export class ConvTranspose1d extends WeightedLayer {
  readonly name = "ConvTranspose1d";
  readonly geometry: ConvTransposeGeometry;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    options: ConvTranspose1dOptions & LayerInit = {},
  ) {
    checkChannels("ConvTranspose1d", inChannels, outChannels);
    const geometry = resolveConvTranspose1d("ConvTranspose1d", kernelSize, options);
    super([inChannels, outChannels, kernelSize], outChannels, options);
    this.geometry = geometry;
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return convTranspose1dChannelsLast("ConvTranspose1d", x, this.weight, this.bias, this.geometry);
  }

  override extraRepr(): string {
    const g = this.geometry;
    return convRepr(this, 1, g, g.padding, g.outputPadding);
  }
}
