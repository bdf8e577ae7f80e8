/**
 * PyTorch's layout outside, tfjs's inside. Public tensors are [N, C, H, W] (images),
 * [N, C, W] (signals) or [N, F]; tfjs's convolutions and pools want channels last. The
 * conversion is a reshape, not a copy, when C = 1 (the lecture's images) or when the
 * spatial size is 1 (the codes [N, d, 1, 1]).
 */
import * as tf from "@tensorflow/tfjs";

/** [N, C, H, W] -> [N, H, W, C]; [N, C, W] -> [N, W, C]; other ranks unchanged. */
export function toChannelsLast<T extends tf.Tensor>(x: T): T {
  if (x.rank !== 3 && x.rank !== 4) return x;
  const [n, c, ...spatial] = x.shape as number[];
  const plain = (c as number) === 1 || spatial.every((s) => s === 1);
  if (plain) return tf.reshape(x, [n as number, ...spatial, c as number]) as T;
  return tf.transpose(x, x.rank === 4 ? [0, 2, 3, 1] : [0, 2, 1]) as T;
}

/** [N, H, W, C] -> [N, C, H, W]; [N, W, C] -> [N, C, W]; other ranks unchanged. */
export function fromChannelsLast<T extends tf.Tensor>(x: T): T {
  if (x.rank !== 3 && x.rank !== 4) return x;
  const shape = x.shape as number[];
  const n = shape[0]!;
  const c = shape[shape.length - 1]!;
  const spatial = shape.slice(1, -1);
  const plain = c === 1 || spatial.every((s) => s === 1);
  if (plain) return tf.reshape(x, [n, c, ...spatial]) as T;
  return tf.transpose(x, x.rank === 4 ? [0, 3, 1, 2] : [0, 2, 1]) as T;
}
