/**
 * MaxPoolGrad for wasm. The wasm backend's own (tfjs 4.22) loses the gradient of every
 * window whose maximum is negative (it gives all zeros where the cpu backend routes dy to
 * the maximum). This one routes dy[n, i, j, c] to the first maximum of its window, as the
 * cpu backend does.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { poolInfo, type PoolAttrs } from "../kernel-calls";
import { view } from "./calls";

function maxPoolGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const attrs = args.attrs as unknown as PoolAttrs;
  const info = poolInfo(input, attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, "float32");
  const dx = view(backend, out);
  const x = view(backend, input);
  const g = view(backend, dy);
  dx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < oh; i++) {
      const r0 = i * sh - top;
      for (let j = 0; j < ow; j++) {
        const c0 = j * sw - left;
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let a = 0; a < fh; a += dh) {
            const r = r0 + a;
            if (r < 0 || r >= H) continue;
            for (let b = 0; b < fw; b += dw) {
              const q = c0 + b;
              if (q < 0 || q >= W) continue;
              const k = ((n * H + r) * W + q) * C + c;
              const v = x[k]!;
              if (v > best) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) dx[at]! += g[((n * oh + i) * ow + j) * C + c]!;
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: "MaxPoolGrad",
  backendName: "wasm",
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
