/**
 * torch.nn.functional on tfjs, with PyTorch's layouts and argument semantics:
 * `import * as F from "dlc7/nn/functional"`. Inputs are [N, C, W] / [N, C, H, W] (or
 * unbatched [C, W] / [C, H, W]); convolution weights [out, in, k...], transposed-convolution
 * weights [in, out, k...]. Each function is a thin call of the core the modules use.
 */
import * as tf from "@tensorflow/tfjs";
import {
  conv1dChannelsLast,
  conv2dChannelsLast,
  convTranspose1dChannelsLast,
  convTranspose2dChannelsLast,
} from "./convolution";
import {
  type Conv1dOptions,
  type ConvOptions,
  type ConvTranspose1dOptions,
  type ConvTransposeOptions,
  type Pair,
  checkRank,
  resolveConv,
  resolveConv1d,
  resolveConvTranspose,
  resolveConvTranspose1d,
  resolvePool,
} from "./geometry";
import { fromChannelsLast, toChannelsLast } from "./layout";
import { avgPool2dChannelsLast, maxPool2dChannelsLast } from "./pooling";
import { type InterpolateOptions, resampleChannelsLast, resolveResampling } from "./resample";

export { convOutputSize, convTransposeOutputSize } from "./geometry";
export type {
  Conv1dOptions,
  ConvOptions,
  ConvTranspose1dOptions,
  ConvTransposeOptions,
  Pair,
  Padding,
} from "./geometry";
export type { InterpolateOptions, InterpolateMode } from "./resample";

const SIGNALS = "[N, C, W] or unbatched [C, W]";
const IMAGES = "[N, C, H, W] or unbatched [C, H, W]";

/**
 * Checks x's rank (batched or not), then runs `core` on the batched channels-last view and
 * returns the result in x's layout and rank.
 */
function channelsLast<T extends tf.Tensor>(
  op: string,
  x: T,
  spatial: 1 | 2,
  core: (xcl: tf.Tensor) => tf.Tensor,
): T {
  const rank = spatial + 2;
  checkRank(op, "input", x.shape, [rank - 1, rank], spatial === 1 ? SIGNALS : IMAGES);
  return tf.tidy(() => {
    const batched = x.rank === rank ? x : tf.expandDims(x, 0);
    const y = fromChannelsLast(core(toChannelsLast(batched)));
    return (x.rank === rank ? y : tf.squeeze(y, [0])) as T;
  });
}

function checkWeightRank(op: string, weight: tf.Tensor, rank: number, layout: string): void {
  checkRank(op, "weight", weight.shape, [rank], layout);
}

/**
 * F.conv1d: input [N, C, W], weight [O, C, k], bias [O] -> [N, O, W'] with
 * W' = floor((W + 2p - d(k-1) - 1) / s) + 1. Inner products of the kernel with the input
 * windows (cross-correlation, no kernel flip), as PyTorch.
 */
export function conv1d<T extends tf.Tensor2D | tf.Tensor3D>(
  x: T,
  weight: tf.Tensor3D,
  bias: tf.Tensor1D | null = null,
  options: Conv1dOptions = {},
): T {
  const op = "conv1d";
  checkWeightRank(op, weight, 3, "[out, in, k]");
  const g = resolveConv1d(op, weight.shape[2], options);
  return channelsLast(op, x, 1, (xcl) => conv1dChannelsLast(op, xcl, weight, bias, g));
}

/** F.conv2d: input [N, C, H, W], weight [O, C, kh, kw], bias [O] -> [N, O, H', W']. */
export function conv2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  weight: tf.Tensor4D,
  bias: tf.Tensor1D | null = null,
  options: ConvOptions = {},
): T {
  const op = "conv2d";
  checkWeightRank(op, weight, 4, "[out, in, kh, kw]");
  const g = resolveConv(op, [weight.shape[2], weight.shape[3]], options);
  return channelsLast(op, x, 2, (xcl) => conv2dChannelsLast(op, xcl, weight, bias, g));
}

/**
 * F.conv_transpose1d: input [N, Cin, W], weight [Cin, Cout, k], bias [Cout] ->
 * [N, Cout, (W-1)s - 2p + d(k-1) + outputPadding + 1]: the kernels weighted by the input,
 * translated by the stride and summed, cropped by p on both sides.
 */
export function convTranspose1d<T extends tf.Tensor2D | tf.Tensor3D>(
  x: T,
  weight: tf.Tensor3D,
  bias: tf.Tensor1D | null = null,
  options: ConvTranspose1dOptions = {},
): T {
  const op = "convTranspose1d";
  checkWeightRank(op, weight, 3, "[in, out, k]");
  const g = resolveConvTranspose1d(op, weight.shape[2], options);
  return channelsLast(op, x, 1, (xcl) => convTranspose1dChannelsLast(op, xcl, weight, bias, g));
}

/** F.conv_transpose2d: input [N, Cin, H, W], weight [Cin, Cout, kh, kw] -> [N, Cout, H', W']. */
export function convTranspose2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  weight: tf.Tensor4D,
  bias: tf.Tensor1D | null = null,
  options: ConvTransposeOptions = {},
): T {
  const op = "convTranspose2d";
  checkWeightRank(op, weight, 4, "[in, out, kh, kw]");
  const g = resolveConvTranspose(op, [weight.shape[2], weight.shape[3]], options);
  return channelsLast(op, x, 2, (xcl) => convTranspose2dChannelsLast(op, xcl, weight, bias, g));
}

/** F.avg_pool2d: [N, C, H, W] -> [N, C, floor((H + 2p - k) / s) + 1, ...], padding counted. */
export function avgPool2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  kernelSize: number | Pair,
  options: { stride?: number | Pair; padding?: number | Pair } = {},
): T {
  const op = "avgPool2d";
  const g = resolvePool(op, kernelSize, options);
  return channelsLast(op, x, 2, (xcl) => avgPool2dChannelsLast(op, xcl, g));
}

/** F.max_pool2d: [N, C, H, W] -> [N, C, floor((H + 2p - k) / s) + 1, ...]. */
export function maxPool2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  kernelSize: number | Pair,
  options: { stride?: number | Pair; padding?: number | Pair } = {},
): T {
  const op = "maxPool2d";
  const g = resolvePool(op, kernelSize, options);
  return channelsLast(op, x, 2, (xcl) => maxPool2dChannelsLast(op, xcl, g));
}

/**
 * F.interpolate(x, size | scale_factor, mode): x is [N, C, W] ("nearest" only) or
 * [N, C, H, W]. Differentiable on every backend.
 */
export function interpolate<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  options: InterpolateOptions,
): T {
  const op = "interpolate";
  if (x.rank !== 3 && x.rank !== 4) {
    throw new Error(
      `${op}: input must be [N, C, W] or [N, C, H, W], got shape [${x.shape.join(", ")}]`,
    );
  }
  const r = resolveResampling(op, x.shape.slice(2), options);
  return tf.tidy(() => fromChannelsLast(resampleChannelsLast(toChannelsLast(x), r)));
}

/** torch.cat: tensors of one shape but along `dim`, joined along `dim` (e.g. 1 for channels). */
export function cat<T extends tf.Tensor>(tensors: T[], dim: number): T {
  if (tensors.length === 0) throw new Error("cat: give at least one tensor");
  const rank = (tensors[0] as T).rank;
  if (!Number.isInteger(dim) || dim < -rank || dim >= rank) {
    throw new Error(`cat: dim must be an integer in [${-rank}, ${rank - 1}], got ${dim}`);
  }
  const axis = dim < 0 ? dim + rank : dim;
  tensors.forEach((t, i) => {
    const first = tensors[0] as T;
    const same = t.rank === rank && t.shape.every((s, j) => j === axis || s === first.shape[j]);
    if (!same) {
      throw new Error(
        `cat: tensor ${i} has shape [${t.shape.join(", ")}], expected [${first.shape.map((s, j) => (j === axis ? "*" : s)).join(", ")}]`,
      );
    }
  });
  return tf.concat(tensors, axis);
}
