/**
 * Kernels that make training fast and correct on the wasm backend: the convolution
 * gradients as forward convolutions that XNNPACK runs (lecture 7.1's identity), the forward
 * convolutions with explicit padding, and copies avoided (Identity, Sum, Slice).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { conv2DBackpropFilterConfig } from "../conv2d-backprop";
import { conv2DBackpropInputConfig } from "./conv2d-backprop";
import { withExplicitPadding } from "./conv2d-forward";
import { withSharedData } from "./identity";
import { maxPoolGradConfig } from "./max-pool-grad";
import { withHeapSlice } from "./slice";
import { withLeadingAxesSum } from "./sum";

let registered: string[] | null = null;

function replace(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, "wasm") !== undefined) {
    tf.unregisterKernel(config.kernelName, "wasm");
  }
  tf.registerKernel(config);
}

/**
 * Registers our kernels for the wasm backend, replacing its own where it has one (once;
 * later calls return the same list). Call it before the wasm backend is first used.
 */
export function registerWasmKernels(): string[] {
  if (registered !== null) return registered;
  const configs: tf.KernelConfig[] = [
    conv2DBackpropFilterConfig("wasm"),
    conv2DBackpropInputConfig,
    maxPoolGradConfig,
  ];
  for (const name of ["Conv2D", "FusedConv2D"]) {
    const original = tf.getKernel(name, "wasm");
    if (original === undefined) throw new Error(`wasm backend has no ${name} kernel to wrap`);
    // Keeps the original's setupFunc: it binds the wasm function the kernel calls.
    configs.push(withExplicitPadding(original));
  }
  const sum = tf.getKernel("Sum", "wasm");
  if (sum === undefined) throw new Error("wasm backend has no Sum kernel to wrap");
  configs.push(withLeadingAxesSum(sum));
  for (const name of ["Identity", "Cast"]) {
    const original = tf.getKernel(name, "wasm");
    if (original === undefined) throw new Error(`wasm backend has no ${name} kernel to wrap`);
    configs.push(withSharedData(original));
  }
  const slice = tf.getKernel("Slice", "wasm");
  if (slice === undefined) throw new Error("wasm backend has no Slice kernel to wrap");
  configs.push(withHeapSlice(slice));
  for (const config of configs) replace(config);
  registered = configs.map((c) => c.kernelName);
  return registered;
}
