/**
 * Kernels that make training correct on the webgpu backend, found by test/webgpu.test.ts
 * against the cpu backend: they replace tfjs-backend-webgpu 4.22's own where it is wrong.
 */
import * as tf from "@tensorflow/tfjs";
import { conv2DBackpropFilterConfig } from "../conv2d-backprop";
import { withLowRankPad } from "./pad";

let registered: string[] | null = null;

/**
 * Registers our kernels for the webgpu backend (once; later calls return the same list).
 * tfjs-backend-webgpu must be loaded first: its kernels are the ones we wrap.
 */
export function registerWebGpuKernels(): string[] {
  if (registered !== null) return registered;
  const pad = tf.getKernel("PadV2", "webgpu");
  if (pad === undefined) throw new Error("webgpu backend has no PadV2 kernel to wrap");
  const configs = [conv2DBackpropFilterConfig("webgpu"), withLowRankPad(pad)];
  for (const config of configs) {
    tf.unregisterKernel(config.kernelName, "webgpu");
    tf.registerKernel(config);
  }
  registered = configs.map((c) => c.kernelName);
  return registered;
}
