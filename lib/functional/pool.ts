/** F.avg_pool2d on NCHW tensors (count_include_pad = True, ceil_mode = False: PyTorch's defaults). */
import * as tf from "@tensorflow/tfjs";

import { type Pair, checkRank, toPair } from "./shapes";

/** Options of avgPool2d. */
export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: number | Pair;
  /** Zeros on both sides, counted in the average; at most half the kernel size. */
  padding?: number | Pair;
}

/** F.avg_pool2d: [N, C, H, W] (or [C, H, W]) → [N, C, floor((H + 2p - k) / s) + 1, ...]. */
export function avgPool2d<T extends tf.Tensor3D | tf.Tensor4D>(
  x: T,
  kernelSize: number | Pair,
  options: AvgPool2dOptions = {},
): T {
  const op = "avgPool2d";
  checkRank(op, "input", x.shape, [3, 4], "[N, C, H, W] or unbatched [C, H, W]");
  const k = toPair(op, "kernelSize", kernelSize, 1);
  const s = toPair(op, "stride", options.stride ?? k, 1);
  const p = toPair(op, "padding", options.padding ?? 0, 0);
  if (p[0] > k[0] / 2 || p[1] > k[1] / 2) {
    throw new Error(
      `${op}: padding [${p.join(", ")}] must be at most half the kernel size [${k.join(", ")}]`,
    );
  }
  const [h, w] = x.shape.slice(-2) as Pair;
  if (h + 2 * p[0] < k[0] || w + 2 * p[1] < k[1]) {
    throw new Error(
      `${op}: padded input ${h + 2 * p[0]} x ${w + 2 * p[1]} is smaller than the kernel ${k[0]} x ${k[1]}`,
    );
  }
  return tf.tidy(() => {
    const xb = (x.rank === 3 ? x.expandDims(0) : x) as tf.Tensor4D;
    // Zero padding then a "valid" average divides by k*k everywhere: count_include_pad.
    let xh: tf.Tensor4D = xb.transpose([0, 2, 3, 1]);
    if (p[0] > 0 || p[1] > 0) {
      xh = xh.pad([
        [0, 0],
        [p[0], p[0]],
        [p[1], p[1]],
        [0, 0],
      ]);
    }
    const y = tf.avgPool(xh, k, s, "valid").transpose([0, 3, 1, 2]);
    return (x.rank === 3 ? y.squeeze([0]) : y) as T;
  });
}
