/**
 * Calling a backend's own kernels from inside our kernels. Inside a kernel we deal in
 * TensorInfo (no engine bookkeeping, no gradient recording), so every intermediate must be
 * released with `free` or its memory stays allocated.
 */
import * as tf from "@tensorflow/tfjs";

export type Info = tf.TensorInfo;

/** Runs the kernel `name` registered for `backendName` directly on `backend`. */
export function callKernel(
  backendName: string,
  backend: tf.KernelBackend,
  name: string,
  inputs: Record<string, Info>,
  attrs: Record<string, unknown> = {},
): Info {
  const kernel = tf.getKernel(name, backendName);
  if (kernel === undefined) throw new Error(`${backendName} kernel ${name} is not registered`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`${backendName} kernel ${name} returned several tensors`);
  return out;
}

/** Releases intermediates (a reshape shares its data: that only drops one reference). */
export function free(backend: tf.KernelBackend, ...infos: Info[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** The four dimensions of a rank-4 tensor (every convolution's input, filter and output). */
export function dims4(x: Info): [number, number, number, number] {
  const [a, b, c, d, ...rest] = x.shape;
  if (a === undefined || b === undefined || c === undefined || d === undefined || rest.length > 0) {
    throw new Error(`expected a rank-4 tensor, got shape [${x.shape.join(", ")}]`);
  }
  return [a, b, c, d];
}

/** The attributes of MaxPool and its gradient. */
export interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The geometry of a 2-D pooling of `input` (NHWC), as tfjs's own pooling kernels compute it. */
export function poolInfo(input: Info, attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  return tf.backend_util.computePool2DInfo(
    dims4(input),
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
}
