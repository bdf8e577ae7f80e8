/**
 * PadV2 above rank 4 on webgpu. tfjs-backend-webgpu 4.22 writes coordinates of rank 5 and 6
 * as its own structs (vec5, vec6) and then indexes them, which WGSL rejects: the shader fails
 * to compile and the output stays zero, silently (lib's dilated filters pad at rank 6).
 * Here each padded axis is padded on a rank-3 view [before, axis, after] instead.
 */
import * as tf from "@tensorflow/tfjs";
import { callKernel, free, type Info } from "../kernel-calls";

const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** Wraps the webgpu PadV2: rank <= 4 goes to the original, higher ranks axis by axis. */
export function withLowRankPad(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as { x: Info };
    const { paddings, constantValue } = args.attrs as unknown as {
      paddings: [number, number][];
      constantValue: number;
    };
    if (x.shape.length <= 4) return original.kernelFunc(args);
    const backend = args.backend as tf.KernelBackend;
    const reshape = (t: Info, shape: number[]): Info =>
      callKernel("webgpu", backend, "Reshape", { x: t }, { shape });
    const shape = x.shape.slice();
    let current: Info | null = null;
    paddings.forEach(([before, after], axis) => {
      if (before === 0 && after === 0) return;
      const n = shape[axis]!;
      const view = reshape(current ?? x, [
        prod(shape.slice(0, axis)),
        n,
        prod(shape.slice(axis + 1)),
      ]);
      const padded = original.kernelFunc({
        inputs: { x: view },
        backend,
        attrs: {
          paddings: [
            [0, 0],
            [before, after],
            [0, 0],
          ],
          constantValue,
        },
      }) as Info;
      free(backend, view);
      if (current !== null) free(backend, current);
      shape[axis] = n + before + after;
      current = reshape(padded, shape);
      free(backend, padded);
    });
    return current ?? callKernel("webgpu", backend, "Identity", { x });
  };
  return { ...original, kernelFunc };
}
