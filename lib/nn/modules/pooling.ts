/** nn.MaxPool2d, nn.AvgPool2d and nn.Upsample, on the cores F.* uses. */
import * as tf from "@tensorflow/tfjs";
import { type Pair, type PoolGeometry, resolvePool } from "../geometry";
import { Module } from "../module";
import { avgPool2dChannelsLast, maxPool2dChannelsLast } from "../pooling";
import {
  type InterpolateOptions,
  checkInterpolateOptions,
  resampleChannelsLast,
  resolveResampling,
} from "../resample";

export interface PoolOptions {
  /** Default: the kernel size. */
  stride?: number | Pair;
  /** Default 0. */
  padding?: number | Pair;
}

/** PyTorch prints an int for a square pool given as one number. */
function intOrTuple(p: Pair): string {
  return p[0] === p[1] ? `${p[0]}` : `(${p[0]}, ${p[1]})`;
}

/** What MaxPool2d and AvgPool2d share: the resolved geometry and PyTorch's repr of it. */
abstract class Pool2d extends Module {
  readonly geometry: PoolGeometry;
  constructor(layer: string, kernelSize: number | Pair, options: PoolOptions) {
    super();
    this.geometry = resolvePool(layer, kernelSize, options);
  }
  override extraRepr(): string {
    const g = this.geometry;
    return `kernel_size=${intOrTuple(g.kernel)}, stride=${intOrTuple(g.stride)}, padding=${intOrTuple(g.padding)}`;
  }
}

/** nn.MaxPool2d(kernel_size, stride = kernel_size, padding = 0). */
export class MaxPool2d extends Pool2d {
  readonly name = "MaxPool2d";
  constructor(kernelSize: number | Pair, options: PoolOptions = {}) {
    super("MaxPool2d", kernelSize, options);
  }
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return maxPool2dChannelsLast("MaxPool2d", x, this.geometry);
  }
  override extraRepr(): string {
    return `${super.extraRepr()}, dilation=1, ceil_mode=False`;
  }
}

/** nn.AvgPool2d(kernel_size, stride = kernel_size, padding = 0): F.avg_pool2d as a module. */
export class AvgPool2d extends Pool2d {
  readonly name = "AvgPool2d";
  constructor(kernelSize: number | Pair, options: PoolOptions = {}) {
    super("AvgPool2d", kernelSize, options);
  }
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return avgPool2dChannelsLast("AvgPool2d", x, this.geometry);
  }
}

/** nn.Upsample(size | scale_factor, mode): F.interpolate as a module. */
export class Upsample extends Module {
  readonly name = "Upsample";
  constructor(readonly options: InterpolateOptions) {
    super();
    checkInterpolateOptions("Upsample", options);
  }
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 3 && x.rank !== 4) {
      throw new Error(`Upsample: expected [N, C, W] or [N, C, H, W], got [${x.shape.join(", ")}]`);
    }
    const r = resolveResampling("Upsample", x.shape.slice(1, -1), this.options);
    return resampleChannelsLast(x, r);
  }
  override extraRepr(): string {
    const { size, scaleFactor, mode = "nearest" } = this.options;
    const value = (v: number | Pair, float: boolean): string => {
      const s = (n: number): string => (float && Number.isInteger(n) ? n.toFixed(1) : `${n}`);
      return typeof v === "number" ? s(v) : `(${s(v[0])}, ${s(v[1])})`;
    };
    const what =
      scaleFactor !== undefined
        ? `scale_factor=${value(scaleFactor, true)}`
        : `size=${value(size as number | Pair, false)}`;
    return `${what}, mode=${mode}`;
  }
}
