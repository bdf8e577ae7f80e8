/**
 * Identity, and Cast to the same dtype, without a copy. tfjs keeps every tensor a gradient
 * needs through Identity (engine.clone), and the wasm backend copies it: six copies of each
 * convolution's activations per training step of the lecture's autoencoder, 35 ms of a U-Net
 * step. Tensors are never written in place, so the output can share the input's data, as
 * the cpu backend's Identity and the wasm backend's own Reshape do.
 */
import * as tf from "@tensorflow/tfjs";

/** The same data under a new tensor: one more reference to it. */
function share(backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Wraps Identity or Cast: numeric tensors of the target dtype are shared, the rest copied. */
export function withSharedData(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const target = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? x.dtype;
    if (x.dtype === "string" || target !== x.dtype) return original.kernelFunc(args);
    return share(args.backend as tf.KernelBackend, x);
  };
  return { ...original, kernelFunc };
}
