/**
 * Sum over the leading axes (a bias gradient: [N, H, W, C] -> [C]) without the
 * transpose the wasm backend's Sum makes first to bring the reduced axes innermost.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { view } from "./calls";

/** Wraps the wasm Sum: leading-axes float32 sums are done here, the rest by the original. */
export function withLeadingAxesSum(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const attrs = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util
      .parseAxisParam(attrs.axis, x.shape)
      .slice()
      .sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== "float32") return original.kernelFunc(args);
    const backend = args.backend as BackendWasm;
    const inner = x.shape.slice(axes.length);
    const cols = inner.reduce((a, b) => a * b, 1);
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const acc = new Float64Array(cols);
    const src = view(backend, x);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) acc[c]! += src[base + c]!;
    }
    const shape = attrs.keepDims ? [...axes.map(() => 1), ...inner] : inner;
    const out = backend.makeOutput(shape, "float32");
    view(backend, out).set(acc);
    return out;
  };
  return { ...original, kernelFunc };
}
