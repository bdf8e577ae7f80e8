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
  const [o, wc, kh, kw] = weight.shape;
  if (c !== wc) {
    throw new Error(
      `${op}: input has ${c} channels but the weight [${shownWeightShape.join(", ")}] expects ${wc} (weight layout is [out, in, k...])`,
    );
  }
  checkBias(op, bias, o);
  const paddedH = h + spec.padBefore[0] + spec.padAfter[0];
  const paddedW = w + spec.padBefore[1] + spec.padAfter[1];
  const effH = spec.dilation[0] * (kh - 1) + 1;
  const effW = spec.dilation[1] * (kw - 1) + 1;
  if (paddedH < effH || paddedW < effW) {
    throw new Error(
      `${op}: calculated padded input size per channel (${paddedH} x ${paddedW}) is smaller than the dilated kernel size (${effH} x ${effW}); the kernel can't be greater than the actual input size`,
    );
  }
  return tf.tidy(() => {
    let xh: tf.Tensor4D = x.transpose([0, 2, 3, 1]);
    if (spec.padBefore.some((p) => p > 0) || spec.padAfter.some((p) => p > 0)) {
      xh = xh.pad([
        [0, 0],
        [spec.padBefore[0], spec.padAfter[0]],
        [spec.padBefore[1], spec.padAfter[1]],
        [0, 0],
      ]);
    }
    const f = dilateFilter(weight.transpose([2, 3, 1, 0]), spec.dilation);
    let y: tf.Tensor4D = tf.conv2d(xh, f, spec.stride, "valid");
    if (bias) y = y.add(bias);
    return y.transpose([0, 3, 1, 2]);
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
  const [wc, o, kh, kw] = weight.shape;
  if (c !== wc) {
    throw new Error(
      `${op}: input has ${c} channels but the weight [${shownWeightShape.join(", ")}] expects ${wc} (transposed-convolution weight layout is [in, out, k...])`,
    );
  }
  checkBias(op, bias, o);
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
  return tf.tidy(() => {
    const xh: tf.Tensor4D = x.transpose([0, 2, 3, 1]);
    const f = dilateFilter(weight.transpose([2, 3, 1, 0]), spec.dilation);
    const full: tf.Tensor4D = tf.conv2dTranspose(xh, f, [n, fullH, fullW, o], spec.stride, "valid");
    // Crop `padding` on both sides; where outputPadding exceeds it, the extra cells get
    // no kernel placement and so are zeros (before the bias).
    const takeH = Math.min(outH, fullH - spec.padding[0]);
    const takeW = Math.min(outW, fullW - spec.padding[1]);
    let y: tf.Tensor4D = full.slice([0, spec.padding[0], spec.padding[1], 0], [n, takeH, takeW, o]);
    if (takeH < outH || takeW < outW) {
      y = y.pad([
        [0, 0],
        [0, outH - takeH],
        [0, outW - takeW],
        [0, 0],
      ]);
    }
    if (bias) y = y.add(bias);
    return y.transpose([0, 3, 1, 2]);
  });
}

/** Adds a batch axis to unbatched input, and the matching removal for the result. */
function batched<T extends tf.Tensor>(
  x: T,
  batchedRank: number,
): { xb: tf.Tensor; unbatch: (y: tf.Tensor) => T } {
  if (x.rank === batchedRank) return { xb: x, unbatch: (y) => y as T };
  return { xb: x.expandDims(0), unbatch: (y) => y.squeeze([0]) as T };
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
  checkRank(op, "input", x.shape, [2, 3], "[N, C, W] or unbatched [C, W]");
  checkRank(op, "weight", weight.shape, [3], "[out, in, k]");
  const { stride = 1, padding = 0, dilation = 1 } = options;
  const k = weight.shape[2];
  const spec = convSpec(op, [1, k], {
    stride: [1, stride],
    padding: typeof padding === "number" ? [0, padding] : padding,
    dilation: [1, dilation],
  });
  // "same" on a [1, k] kernel pads nothing on the height axis, as wanted.
  return tf.tidy(() => {
    const { xb, unbatch } = batched(x, 3);
    const y = conv2dCore(
      op,
      xb.expandDims(2) as tf.Tensor4D,
      weight.expandDims(2) as tf.Tensor4D,
      bias,
      spec,
      weight.shape,
    );
    return unbatch(y.squeeze([2]));
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
  checkRank(op, "input", x.shape, [3, 4], "[N, C, H, W] or unbatched [C, H, W]");
  checkRank(op, "weight", weight.shape, [4], "[out, in, kh, kw]");
  const { stride = 1, padding = 0, dilation = 1 } = options;
  const spec = convSpec(op, [weight.shape[2], weight.shape[3]], { stride, padding, dilation });
  return tf.tidy(() => {
    const { xb, unbatch } = batched(x, 4);
    return unbatch(conv2dCore(op, xb as tf.Tensor4D, weight, bias, spec));
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
  checkRank(op, "input", x.shape, [2, 3], "[N, C, W] or unbatched [C, W]");
  checkRank(op, "weight", weight.shape, [3], "[in, out, k]");
  const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
  const spec = convTransposeSpec(op, {
    stride: [1, stride],
    padding: [0, padding],
    outputPadding: [0, outputPadding],
    dilation: [1, dilation],
  });
  return tf.tidy(() => {
    const { xb, unbatch } = batched(x, 3);
    const y = convTranspose2dCore(
      op,
      xb.expandDims(2) as tf.Tensor4D,
      weight.expandDims(2) as tf.Tensor4D,
      bias,
      spec,
      weight.shape,
    );
    return unbatch(y.squeeze([2]));
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
  checkRank(op, "input", x.shape, [3, 4], "[N, C, H, W] or unbatched [C, H, W]");
  checkRank(op, "weight", weight.shape, [4], "[in, out, kh, kw]");
  const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
  const spec = convTransposeSpec(op, { stride, padding, outputPadding, dilation });
  return tf.tidy(() => {
    const { xb, unbatch } = batched(x, 4);
    return unbatch(convTranspose2dCore(op, xb as tf.Tensor4D, weight, bias, spec));
  });
}
