/**
 * The one convolution core: conv2d and conv_transpose2d on channels-last tensors with
 * PyTorch-shaped weights and a resolved geometry (geometry.ts). `F.conv*` and the
 * `nn.Conv*` modules are thin calls of these two functions; 1-D convolutions run as images
 * of height 1.
 *
 * tfjs refuses stride > 1 together with dilation > 1 and has no dilated gradients, so a
 * dilated kernel is spread out with zeros instead. A transposed convolution is tfjs's
 * conv2dTranspose with the output size given (the gradient of the convolution with the same
 * geometry); only when the output padding reaches past the stride (allowed by a larger
 * dilation) is the full result cropped and zero-padded by hand, as PyTorch's definition says.
 */
import * as tf from "@tensorflow/tfjs";
import {
  type ConvGeometry,
  type ConvTransposeGeometry,
  type Pair,
  convOutput,
  convTransposeOutput,
  dilatedKernel,
} from "./geometry";

/** Activations tfjs fuses into a convolution or matrix product. */
export type FusedActivation = "linear" | "relu";

/** Inserts d-1 zeros between kernel taps along the two spatial axes of a [kh, kw, a, b] filter. */
function dilateFilter(f: tf.Tensor4D, dilation: Pair): tf.Tensor4D {
  const [dh, dw] = dilation;
  if (dh === 1 && dw === 1) return f;
  const [kh, kw, a, b] = f.shape;
  const spread = tf
    .pad(tf.reshape(f, [kh, 1, kw, 1, a, b]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
      [0, dw - 1],
      [0, 0],
      [0, 0],
    ])
    .reshape([kh * dh, kw * dw, a, b]);
  const [eh, ew] = dilatedKernel({ kernel: [kh, kw], dilation });
  return tf.slice(spread as tf.Tensor4D, [0, 0, 0, 0], [eh, ew, a, b]);
}

/** tfjs's pad argument for explicit zero padding of the two spatial axes. */
function padArg(before: Pair, after: Pair): "valid" | tf.backend_util.ExplicitPadding {
  if (before.every((p) => p === 0) && after.every((p) => p === 0)) return "valid";
  return [
    [0, 0],
    [before[0], after[0]],
    [before[1], after[1]],
    [0, 0],
  ];
}

/**
 * Checks a PyTorch-shaped weight [a, b, kh, kw] against the input's channels (on axis 0
 * for transposed convolutions, axis 1 otherwise), the geometry's kernel, and the bias;
 * returns the number of output channels.
 */
function checkWeight(
  op: string,
  channels: number,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  kernel: Pair,
  transposed: boolean,
  shownWeightShape: readonly number[],
): number {
  const layout = transposed
    ? "transposed-convolution weight layout is [in, out, k...]"
    : "weight layout is [out, in, k...]";
  if (weight.rank !== 4 || weight.shape[2] !== kernel[0] || weight.shape[3] !== kernel[1]) {
    throw new Error(
      `${op}: weight [${shownWeightShape.join(", ")}] does not match kernel ${kernel.join(" x ")} (${layout})`,
    );
  }
  const [a, b] = weight.shape as number[];
  const [wc, o] = transposed ? [a as number, b as number] : [b as number, a as number];
  if (channels !== wc) {
    throw new Error(
      `${op}: input has ${channels} channels but the weight [${shownWeightShape.join(", ")}] expects ${wc} (${layout})`,
    );
  }
  if (wc < 1 || o < 1) {
    throw new Error(`${op}: the weight [${shownWeightShape.join(", ")}] has no channels`);
  }
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== o)) {
    throw new Error(
      `${op}: bias must have shape [${o}] (one value per output channel), got [${bias.shape.join(", ")}]`,
    );
  }
  return o;
}

function checkInput(op: string, x: tf.Tensor): tf.Tensor4D {
  if (x.rank !== 4 || x.shape.some((s) => s === 0)) {
    throw new Error(
      `${op}: expected a non-empty batch of images, got shape [${x.shape.join(", ")}]`,
    );
  }
  return x as tf.Tensor4D;
}

/**
 * conv2d of channels-last images x [N, H, W, C] with a PyTorch weight [O, C, kh, kw] and an
 * optional bias [O]; `activation` is applied in the same fused op. Returns [N, H', W', O].
 */
export function conv2dChannelsLast(
  op: string,
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  g: ConvGeometry,
  activation: FusedActivation = "linear",
  shownWeightShape: readonly number[] = weight.shape,
): tf.Tensor4D {
  const x4 = checkInput(op, x);
  const [, h, w, c] = x4.shape;
  checkWeight(op, c, weight, bias, g.kernel, false, shownWeightShape);
  convOutput(op, g, [h, w]);
  return tf.tidy(() => {
    const filter = dilateFilter(tf.transpose(weight as tf.Tensor4D, [2, 3, 1, 0]), g.dilation);
    return tf.fused.conv2d({
      x: x4,
      filter,
      strides: g.stride,
      pad: padArg(g.padBefore, g.padAfter),
      bias: bias ?? undefined,
      activation,
    });
  });
}

/**
 * conv_transpose2d of channels-last x [N, H, W, Cin] with a PyTorch weight
 * [Cin, Cout, kh, kw] and an optional bias [Cout]. Returns [N, H', W', Cout].
 */
export function convTranspose2dChannelsLast(
  op: string,
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  g: ConvTransposeGeometry,
  shownWeightShape: readonly number[] = weight.shape,
): tf.Tensor4D {
  const x4 = checkInput(op, x);
  const [n, h, w, c] = x4.shape;
  const o = checkWeight(op, c, weight, bias, g.kernel, true, shownWeightShape);
  const [outH, outW] = convTransposeOutput(op, g, [h, w]);
  return tf.tidy(() => {
    // tfjs's conv2dTranspose filter is [kh, kw, out, in]: the same permutation as a conv's.
    const filter = dilateFilter(tf.transpose(weight as tf.Tensor4D, [2, 3, 1, 0]), g.dilation);
    let y: tf.Tensor4D;
    if (g.outputPadding[0] < g.stride[0] && g.outputPadding[1] < g.stride[1]) {
      y = tf.conv2dTranspose(
        x4,
        filter,
        [n, outH, outW, o],
        g.stride,
        padArg(g.padding, g.padding),
      );
    } else {
      const [effH, effW] = dilatedKernel(g);
      const fullH = (h - 1) * g.stride[0] + effH;
      const fullW = (w - 1) * g.stride[1] + effW;
      const full = tf.conv2dTranspose(x4, filter, [n, fullH, fullW, o], g.stride, "valid");
      // Crop `padding`; the output padding past the full result gets no kernel placement.
      const takeH = Math.min(outH, fullH - g.padding[0]);
      const takeW = Math.min(outW, fullW - g.padding[1]);
      const cropped = tf.slice(full, [0, g.padding[0], g.padding[1], 0], [n, takeH, takeW, o]);
      y = tf.pad(cropped, [
        [0, 0],
        [0, outH - takeH],
        [0, outW - takeW],
        [0, 0],
      ]);
    }
    return bias === null ? y : tf.add(y, bias);
  });
}

/**
 * A 1-D operation as its 2-D core on images of height 1: signals [N, W, C] become
 * [N, 1, W, C], weights [a, b, k] become [a, b, 1, k] (errors still show the 1-D shape).
 */
function asSignals(
  op: string,
  x: tf.Tensor,
  weight: tf.Tensor,
  core: (x4: tf.Tensor, w4: tf.Tensor) => tf.Tensor4D,
): tf.Tensor3D {
  if (x.rank !== 3 || weight.rank !== 3) {
    throw new Error(
      `${op}: expected signals [N, C, W] and a weight of rank 3, got [${x.shape.join(", ")}] and [${weight.shape.join(", ")}]`,
    );
  }
  return tf.tidy(() =>
    tf.squeeze<tf.Tensor3D>(core(tf.expandDims(x, 1), tf.expandDims(weight, 2)), [1]),
  );
}

/** conv1d of channels-last signals [N, W, C] with a weight [O, C, k]. */
export function conv1dChannelsLast(
  op: string,
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  g: ConvGeometry,
): tf.Tensor3D {
  return asSignals(op, x, weight, (x4, w4) =>
    conv2dChannelsLast(op, x4, w4, bias, g, "linear", weight.shape),
  );
}

/** conv_transpose1d of channels-last signals [N, W, Cin] with a weight [Cin, Cout, k]. */
export function convTranspose1dChannelsLast(
  op: string,
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  g: ConvTransposeGeometry,
): tf.Tensor3D {
  return asSignals(op, x, weight, (x4, w4) =>
    convTranspose2dChannelsLast(op, x4, w4, bias, g, weight.shape),
  );
}
