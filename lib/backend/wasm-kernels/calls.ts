/**
 * Calling the wasm backend's own kernels from inside our kernels. Inside a kernel we
 * deal in TensorInfo (no engine bookkeeping), so every intermediate must be released
 * with `free` or it stays on the wasm heap.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export type Info = tf.TensorInfo;

/** Runs the wasm backend's kernel `name` directly (no engine, no gradient recording). */
export function call(
  backend: BackendWasm,
  name: string,
  inputs: Record<string, Info>,
  attrs: Record<string, unknown> = {},
): Info {
  const kernel = tf.getKernel(name, "wasm");
  if (kernel === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  const out = kernel.kernelFunc({
    inputs,
    backend,
    attrs: attrs as tf.NamedAttrMap,
  });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned several tensors`);
  return out;
}

/** Releases intermediates (a reshape shares its data: that only drops one reference). */
export function free(backend: BackendWasm, ...infos: Info[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function reshape(backend: BackendWasm, x: Info, shape: number[]): Info {
  return call(backend, "Reshape", { x }, { shape });
}

export function transpose(backend: BackendWasm, x: Info, perm: number[]): Info {
  return call(backend, "Transpose", { x }, { perm });
}

export function slice(backend: BackendWasm, x: Info, begin: number[], size: number[]): Info {
  return call(backend, "Slice", { x }, { begin, size });
}

export function pad(backend: BackendWasm, x: Info, paddings: [number, number][]): Info {
  return call(backend, "PadV2", { x }, { paddings, constantValue: 0 });
}

/** A float32 tensor on the wasm heap, filled by `fill(view)`. */
export function make(
  backend: BackendWasm,
  shape: number[],
  fill: (out: Float32Array) => void,
): Info {
  const out = backend.makeOutput(shape, "float32");
  fill(backend.typedArrayFromHeap(out) as Float32Array);
  return out;
}

/** The float32 contents of a tensor on the wasm heap (a view: read it before any allocation). */
export function view(backend: BackendWasm, x: Info): Float32Array {
  return backend.typedArrayFromHeap(x) as Float32Array;
}
