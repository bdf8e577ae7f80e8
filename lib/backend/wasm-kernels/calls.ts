/** The wasm backend's own kernels, called from inside our kernels (see ../kernel-calls). */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { callKernel, dims4, free, type Info } from "../kernel-calls";

export type { Info };

/** Runs the wasm backend's kernel `name` directly (no engine, no gradient recording). */
export function call(
  backend: BackendWasm,
  name: string,
  inputs: Record<string, Info>,
  attrs: Record<string, unknown> = {},
): Info {
  return callKernel("wasm", backend, name, inputs, attrs);
}

export { dims4, free };

export function reshape(backend: BackendWasm, x: Info, shape: number[]): Info {
  return call(backend, "Reshape", { x }, { shape });
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
