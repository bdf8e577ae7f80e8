/**
 * The arithmetic of a training step, counted from the kernels it runs (tf.profile): the
 * multiply-adds of the convolutions, their two gradients and the matrix products, 2 FLOPs
 * each. Element-wise ops, reductions and Adam are memory-bound and not counted: the count
 * is what the peak of section 3 on the compass bounds.
 */
import * as tf from "@tensorflow/tfjs";

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

interface KernelRecord {
  name: string;
  inputShapes: (number[] | null)[];
  outputShapes: number[][];
}

/** FLOPs of one kernel call from its shapes (0 for the kernels that are not counted). */
export function kernelFlops(k: KernelRecord): number {
  const [a, b] = k.inputShapes;
  const out = k.outputShapes[0];
  if (a === undefined || a === null || b === undefined || b === null || out === undefined) {
    return 0;
  }
  switch (k.name) {
    case "Conv2D":
    case "FusedConv2D": // x [N, H, W, C], filter [kh, kw, C, O] -> y [N, oh, ow, O]
      return 2 * size(out) * size(b.slice(0, 3));
    case "Conv2DBackpropInput": // dy [N, oh, ow, O], filter [kh, kw, C, O]
      return 2 * size(a) * size(b.slice(0, 3));
    case "Conv2DBackpropFilter": // x, dy [N, oh, ow, O] -> dw [kh, kw, C, O]
      return 2 * size(b) * size(out.slice(0, 3));
    case "BatchMatMul":
    case "_FusedMatMul": {
      // c [..., m, n]; a [..., m, k] or [..., k, m]: k is a's other trailing dimension.
      const m = out[out.length - 2]!;
      const [r, c] = a.slice(-2) as [number, number];
      const kk = r === m ? c : r;
      return 2 * size(out) * kk;
    }
    default:
      return 0;
  }
}

/** FLOPs of what `step` runs (one training step), from one profiled run of it. */
export async function stepFlops(step: () => Promise<void>): Promise<number> {
  const info = await tf.profile(step);
  return info.kernels.reduce((sum, k) => sum + kernelFlops(k as unknown as KernelRecord), 0);
}
