/**
 * Image bytes -> a float32 tensor [N, 1, rows, cols] (PyTorch's layout) of byte / 255, with as few copies as
 * the backend allows: the cpu backend adopts the Float32Array made here as its storage;
 * the wasm backend would copy it into its heap, holding both until V8 collects the first
 * (a 190 MB transient for MNIST's training set), so there the values are written straight
 * into a tensor allocated in the heap.
 */
import * as tf from "@tensorflow/tfjs";

// byte -> byte / 255, computed once, so that every pixel gets exactly the value of a division.
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** The part of tfjs-backend-wasm's WasmBackend used here (what its own kernels use). */
interface WasmHeapBackend {
  typedArrayFromHeap(info: { shape: number[]; dtype: tf.DataType; dataId: object }): unknown;
}

function isWasmHeapBackend(b: unknown): b is WasmHeapBackend {
  return typeof (b as Partial<WasmHeapBackend> | null)?.typedArrayFromHeap === "function";
}

/** The first n images of `pixels` (n x rows x cols bytes, row-major) as [n, 1, rows, cols] in [0, 1]. */
export function imagesToTensor(
  pixels: Uint8Array,
  n: number,
  rows: number,
  cols: number,
): tf.Tensor4D {
  const size = n * rows * cols;
  if (pixels.length < size) {
    throw new Error(`imagesToTensor: ${pixels.length} bytes for ${n} x ${rows} x ${cols}`);
  }
  const shape: [number, number, number, number] = [n, 1, rows, cols];
  const backend = tf.backend();
  if (size > 0 && tf.getBackend() === "wasm" && isWasmHeapBackend(backend)) {
    const t = tf.fill(shape, 0, "float32") as tf.Tensor4D;
    // A view of the tensor's memory in the heap; no wasm allocation happens in this loop,
    // so the view stays valid while it is filled.
    const out = backend.typedArrayFromHeap(t);
    if (out instanceof Float32Array && out.length === size) {
      for (let i = 0; i < size; i++) out[i] = BYTE_TO_UNIT[pixels[i]!]!;
      return t;
    }
    t.dispose();
  }
  const floats = new Float32Array(size);
  for (let i = 0; i < size; i++) floats[i] = BYTE_TO_UNIT[pixels[i]!]!;
  return tf.tensor4d(floats, shape, "float32");
}
