/**
 * The pooling cores on channels-last images, with PyTorch's semantics: average pooling
 * counts padding zeros (count_include_pad = True), max pooling ignores padding (as
 * PyTorch's -inf padding does). `F.avgPool2d`, `F.maxPool2d`, `nn.AvgPool2d` and
 * `nn.MaxPool2d` call these.
 */
import * as tf from "@tensorflow/tfjs";
import { type PoolGeometry, poolOutput } from "./geometry";

function checkImages(op: string, x: tf.Tensor): tf.Tensor4D {
  if (x.rank !== 4 || x.shape.some((s) => s === 0)) {
    throw new Error(
      `${op}: expected a non-empty batch of images, got shape [${x.shape.join(", ")}]`,
    );
  }
  return x as tf.Tensor4D;
}

/** avg_pool2d of [N, H, W, C]. */
export function avgPool2dChannelsLast(op: string, x: tf.Tensor, g: PoolGeometry): tf.Tensor4D {
  const x4 = checkImages(op, x);
  poolOutput(op, g, [x4.shape[1], x4.shape[2]]);
  const [ph, pw] = g.padding;
  if (ph === 0 && pw === 0) return tf.avgPool(x4, g.kernel, g.stride, "valid");
  // Zero padding then a "valid" average divides by kh * kw everywhere: count_include_pad.
  return tf.tidy(() => {
    const padded = tf.pad(x4, [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ]);
    return tf.avgPool(padded, g.kernel, g.stride, "valid");
  });
}

/** max_pool2d of [N, H, W, C]. */
export function maxPool2dChannelsLast(op: string, x: tf.Tensor, g: PoolGeometry): tf.Tensor4D {
  const x4 = checkImages(op, x);
  poolOutput(op, g, [x4.shape[1], x4.shape[2]]);
  const [ph, pw] = g.padding;
  const pad: "valid" | tf.backend_util.ExplicitPadding =
    ph === 0 && pw === 0
      ? "valid"
      : [
          [0, 0],
          [ph, ph],
          [pw, pw],
          [0, 0],
        ];
  return tf.maxPool(x4, g.kernel, g.stride, pad);
}
