/**
 * torch.nn.functional's conv1d, conv2d, conv_transpose1d and conv_transpose2d on tfjs,
 * with PyTorch's layouts: inputs (N, C, W) / (N, C, H, W) (or unbatched (C, W) / (C, H, W)),
 * convolution weights (out, in, k...), transposed-convolution weights (in, out, k...).
 *
 * tfjs works channels-last and its transposed convolution only knows "same"/"valid", so
 * every call transposes to NHWC, pads explicitly, dilates the kernel with zeros (tfjs
 * refuses stride > 1 together with dilation > 1), and for transposed convolutions computes
 * the full result then crops `padding` and appends `outputPadding` zeros, as PyTorch does.
 */
import * as tf from "@tensorflow/tfjs";

import {
  type Conv1dOptions,
  type Conv2dOptions,
  type ConvSpec,
  type ConvTranspose1dOptions,
  type ConvTranspose2dOptions,
  type ConvTransposeSpec,
  type Pair,
  checkRank,
  convSpec,
  convTransposeSpec,
} from "./shapes";

/** Inserts d-1 zeros between kernel taps along the two spatial axes of a [kh, kw, a, b] filter. */
function dilateFilter(f: tf.Tensor4D, dilation: Pair): tf.Tensor4D {
  const [dh, dw] = dilation;
  if (dh === 1 && dw === 1) return f;
  const [kh, kw, a, b] = f.shape;
  const spread = f
    .reshape([kh, 1, kw, 1, a, b])
    .pad([
      [0, 0],
      [0, dh - 1],
      [0, 0],
      [0, dw - 1],
      [0, 0],
      [0, 0],
    ])
    .reshape([kh * dh, kw * dw, a, b]);
  return spread.slice([0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b]) as tf.Tensor4D;
}

function checkBias(op: string, bias: tf.Tensor | null | undefined, channels: number): void {
  if (bias === null || bias === undefined) return;
  if (bias.rank !== 1 || bias.shape[0] !== channels) {
    throw new Error(
      `${op}: bias must have shape [${channels}] (one value per output channel), got [${bias.shape.join(", ")}]`,
    );
  }
}

/**
 * Checks that the weight [a, b, kh, kw] takes the input's `c` channels (on axis 0 for
 * transposed-convolution weights, axis 1 otherwise) and that the bias has one value per
 * output channel; returns the number of output channels.
 */
function checkWeightAndBias(
  op: string,
  c: number,
  weight: tf.Tensor4D,
  bias: tf.Tensor | null | undefined,
  transposed: boolean,
  shownWeightShape: readonly number[],
): number {
  const [a, b] = weight.shape;
  const [wc, o] = transposed ? [a, b] : [b, a];
  if (c !== wc) {
    const layout = transposed
      ? "transposed-convolution weight layout is [in, out, k...]"
      : "weight layout is [out, in, k...]";
    throw new Error(
      `${op}: input has ${c} channels but the weight [${shownWeightShape.join(", ")}] expects ${wc} (${layout})`,
    );
  }
  checkBias(op, bias, o);
  return o;
}

/** Runs `body` on the NHWC view of x with a [kh, kw, in|out, out|in] dilated filter; adds bias, back to NCHW. */
function onChannelsLast(
  x: tf.Tensor4D,
  weight: tf.Tensor4D,
  bias: tf.Tensor | null | undefined,
  dilation: Pair,
  body: (xh: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const f = dilateFilter(weight.transpose([2, 3, 1, 0]), dilation);
    let y = body(x.transpose([0, 2, 3, 1]), f);
    if (bias) y = y.add(bias);
    return y.transpose([0, 3, 1, 2]);
  });
}

/** conv2d on NCHW input [N, C, H, W] with weight [O, C, kh, kw] and a resolved spec. */
function conv2dCore(
  op: string,
  x: tf.Tensor4D,
  weight: tf.Tensor4D,
  bias: tf.Tensor | null | undefined,
  spec: ConvSpec,
  shownWeightShape: readonly number[] = weight.shape,
): tf.Tensor4D {
  const [, c, h, w] = x.shape;
  const [, , kh, kw] = weight.shape;
  checkWeightAndBias(op, c, weight, bias, false, shownWeightShape);
  const paddedH = h + spec.padBefore[0] + spec.padAfter[0];
  const paddedW = w + spec.padBefore[1] + spec.padAfter[1];
  const effH = spec.dilation[0] * (kh - 1) + 1;
  const effW = spec.dilation[1] * (kw - 1) + 1;
  if (paddedH < effH || paddedW < effW) {
    throw new Error(
      `${op}: calculated padded input size per channel (${paddedH} x ${paddedW}) is smaller than the dilated kernel size (${effH} x ${effW}); the kernel can't be greater than the actual input size`,
    );
  }
  return onChannelsLast(x, weight, bias, spec.dilation, (xh, f) => {
    if (spec.padBefore.some((p) => p > 0) || spec.padAfter.some((p) => p > 0)) {
      xh = xh.pad([
        [0, 0],
        [spec.padBefore[0], spec.padAfter[0]],
        [spec.padBefore[1], spec.padAfter[1]],
        [0, 0],
      ]);
    }
    return tf.conv2d(xh, f, spec.stride, "valid");
  });
}

/** conv_transpose2d on NCHW input [N, Cin, H, W] with weight [Cin, Cout, kh, kw]. */
function convTranspose2dCore(
  op: string,
  x: tf.Tensor4D,
  weight: tf.Tensor4D,
  bias: tf.Tensor | null | undefined,
  spec: ConvTransposeSpec,
  shownWeightShape: readonly number[] = weight.shape,
): tf.Tensor4D {
  const [n, c, h, w] = x.shape;
  const [, , kh, kw] = weight.shape;
  const o = checkWeightAndBias(op, c, weight, bias, true, shownWeightShape);
  const effH = spec.dilation[0] * (kh - 1) + 1;
  const effW = spec.dilation[1] * (kw - 1) + 1;
  const fullH = (h - 1) * spec.stride[0] + effH;
  const fullW = (w - 1) * spec.stride[1] + effW;
  const outH = fullH - 2 * spec.padding[0] + spec.outputPadding[0];
  const outW = fullW - 2 * spec.padding[1] + spec.outputPadding[1];
  if (outH <= 0 || outW <= 0) {
    throw new Error(
      `${op}: input ${h} x ${w} gives a calculated output size ${outH} x ${outW}, which is too small; reduce the padding`,
    );
  }
  return onChannelsLast(x, weight, bias, spec.dilation, (xh, f) => {
    const full: tf.Tensor4D = tf.conv2dTranspose(xh, f, [n, fullH, fullW, o], spec.stride, "valid");
    // Crop `padding` on both sides; where outputPadding exceeds it, the extra cells get
    // no kernel placement and so are zeros (before the bias).
    const takeH = Math.min(outH, fullH - spec.padding[0]);
    const takeW = Math.min(outW, fullW - spec.padding[1]);
    const y: tf.Tensor4D = full.slice(
      [0, spec.padding[0], spec.padding[1], 0],
      [n, takeH, takeW, o],
    );
    if (takeH === outH && takeW === outW) return y;
    return y.pad([
      [0, 0],
      [0, outH - takeH],
      [0, outW - takeW],
      [0, 0],
    ]);
  });
}

/**
 * Checks the ranks of x and weight, then runs a 2-D core on batched NCHW tensors:
 * unbatched input gets a batch axis, and a 1-D signal [N, C, W] travels as an image of
 * height 1 (weight [a, b, k] as [a, b, 1, k]), so 1-D and 2-D share every computation.
 */
function onImages<T extends tf.Tensor>(
  op: string,
  x: T,
  weight: tf.Tensor,
  spatial: 1 | 2,
  weightLayout: "[out, in" | "[in, out",
  core: (x4: tf.Tensor4D, w4: tf.Tensor4D) => tf.Tensor4D,
): T {
  const rank = spatial + 2;
  const input =
    spatial === 1 ? "[N, C, W] or unbatched [C, W]" : "[N, C, H, W] or unbatched [C, H, W]";
  checkRank(op, "input", x.shape, [rank - 1, rank], input);
  const kernel = spatial === 1 ? "k" : "kh, kw";
  checkRank(op, "weight", weight.shape, [rank], `${weightLayout}, ${kernel}]`);
  return tf.tidy(() => {
    const xb = x.rank === rank ? x : x.expandDims(0);
    const y =
      spatial === 2
        ? core(xb as tf.Tensor4D, weight as tf.Tensor4D)
        : core(xb.expandDims(2) as tf.Tensor4D, weight.expandDims(2) as tf.Tensor4D).squeeze([2]);
    return (x.rank === rank ? y : y.squeeze([0])) as T;
  });
}

/**
 * F.conv1d: input [N, C, W] (or [C, W]), weight [O, C, k], bias [O] → [N, O, W'] with
 * W' = floor((W + 2p - d(k-1) - 1) / s) + 1. Computes inner products of the kernel with
 * the input windows (cross-correlation, no kernel flip), as PyTorch does.
 */
export function conv1d<T extends tf.Tensor2D | tf.Tensor3D>(
  x: T,
  weight: tf.Tensor3D,
  bias?: tf.Tensor1D | null,
  options: Conv1dOptions = {},
): T {
  const op = "conv1d";
  return onImages(op, x, weight, 1, "[out, in", (x4, w4) => {
    const { stride = 1, padding = 0, dilation = 1 } = options;
    // "same" on a [1, k] kernel pads nothing on the height axis, as wanted.
    const spec = convSpec(op, [1, weight.shape[2]], {
      stride: [1, stride],
      padding: typeof padding === "number" ? [0, padding] : padding,
      dilation: [1, dilation],
    });
    return conv2dCore(op, x4, w4, bias, spec, weight.shape);
  });
}

/**
 * F.conv2d: input [N, C, H, W] (or [C, H, W]), weight [O, C, kh, kw], bias [O] → [N, O, H', W'].
 */
export function conv2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  weight: tf.Tensor4D,
  bias?: tf.Tensor1D | null,
  options: Conv2dOptions = {},
): T {
  const op = "conv2d";
  return onImages(op, x, weight, 2, "[out, in", (x4, w4) => {
    const { stride = 1, padding = 0, dilation = 1 } = options;
    const spec = convSpec(op, [weight.shape[2], weight.shape[3]], { stride, padding, dilation });
    return conv2dCore(op, x4, w4, bias, spec);
  });
}

/**
 * F.conv_transpose1d: input [N, Cin, W] (or [Cin, W]), weight [Cin, Cout, k], bias [Cout]
 * → [N, Cout, W'] with W' = (W-1)s - 2p + d(k-1) + outputPadding + 1: the sum of the
 * kernels translated by s and weighted by the input, cropped by p on both sides.
 */
export function convTranspose1d<T extends tf.Tensor2D | tf.Tensor3D>(
  x: T,
  weight: tf.Tensor3D,
  bias?: tf.Tensor1D | null,
  options: ConvTranspose1dOptions = {},
): T {
  const op = "convTranspose1d";
  return onImages(op, x, weight, 1, "[in, out", (x4, w4) => {
    const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
    const spec = convTransposeSpec(op, {
      stride: [1, stride],
      padding: [0, padding],
      outputPadding: [0, outputPadding],
      dilation: [1, dilation],
    });
    return convTranspose2dCore(op, x4, w4, bias, spec, weight.shape);
  });
}

/**
 * F.conv_transpose2d: input [N, Cin, H, W] (or [Cin, H, W]), weight [Cin, Cout, kh, kw],
 * bias [Cout] → [N, Cout, H', W'], each size following (W-1)s - 2p + d(k-1) + outputPadding + 1.
 */
export function convTranspose2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  weight: tf.Tensor4D,
  bias?: tf.Tensor1D | null,
  options: ConvTranspose2dOptions = {},
): T {
  const op = "convTranspose2d";
  return onImages(op, x, weight, 2, "[in, out", (x4, w4) => {
    const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
    return convTranspose2dCore(
      op,
      x4,
      w4,
      bias,
      convTransposeSpec(op, { stride, padding, outputPadding, dilation }),
    );
  });
}
