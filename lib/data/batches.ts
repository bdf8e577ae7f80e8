/**
 * Running something over a data set in batches, and seeded subsets. The batch loop lives
 * here once: evaluation, metrics, encoders and classifiers all go through `forEachBatch`
 * or `mapBatches`, so that 10,000 images never pass through a model as one temporary.
 */
import * as tf from "@tensorflow/tfjs";
import { contentDigest } from "../training/key";
import type { Rng } from "../random";
import { throwIfInterrupted } from "../training/interrupt";
import type { Dataset } from "./datasets";

/** The default batch size for inference over a data set. */
export const INFERENCE_BATCH = 500;

function checkBatching(op: string, tensors: readonly tf.Tensor[], batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${op}: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (tensors.length === 0) throw new Error(`${op}: give at least one tensor`);
  const n = (tensors[0] as tf.Tensor).shape[0];
  if (n === undefined) throw new Error(`${op}: tensors must have a first (batch) axis`);
  for (const t of tensors) {
    if (t.shape[0] !== n) {
      throw new Error(
        `${op}: tensors have different first axes (${tensors.map((u) => u.shape[0]).join(" vs ")})`,
      );
    }
  }
  return n;
}

/** Rows [start, start + size) of x, whatever its rank. */
function rows<T extends tf.Tensor>(x: T, start: number, size: number): T {
  return tf.slice(
    x,
    x.shape.map((_, i) => (i === 0 ? start : 0)),
    x.shape.map((s, i) => (i === 0 ? size : s)),
  ) as T;
}

/** Stops the loop before batch `start / batchSize + 1` when Interrupt was pressed. */
function checkInterrupt(start: number, batchSize: number, n: number): void {
  throwIfInterrupted(() => `at batch ${start / batchSize + 1} of ${Math.ceil(n / batchSize)}`);
}

/**
 * Calls fn on consecutive row slices of the tensors (all with the same first axis), each
 * call inside tf.tidy: what fn returns is freed too, so fn should extract numbers. Interrupt
 * (kernel) stops it between batches, with Interrupted.
 */
export function forEachBatch<T extends tf.Tensor[]>(
  tensors: [...T],
  batchSize: number,
  fn: (batch: T, start: number) => void,
): void {
  const n = checkBatching("forEachBatch", tensors, batchSize);
  for (let start = 0; start < n; start += batchSize) {
    checkInterrupt(start, batchSize, n);
    const size = Math.min(batchSize, n - start);
    tf.tidy(() => {
      fn(tensors.map((t) => rows(t, start, size)) as T, start);
    });
  }
}

/**
 * fn applied to row slices of x, results concatenated along the first axis: a model over a
 * whole data set without one huge temporary. fn must not dispose its input. Interrupt
 * (kernel) stops it between batches, with Interrupted.
 */
export function mapBatches<R extends tf.Tensor>(
  x: tf.Tensor,
  batchSize: number,
  fn: (batch: tf.Tensor) => R,
): R {
  const n = checkBatching("mapBatches", [x], batchSize);
  if (n <= batchSize) {
    checkInterrupt(0, batchSize, n);
    return tf.tidy(() => fn(x));
  }
  const parts: R[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      checkInterrupt(start, batchSize, n);
      const size = Math.min(batchSize, n - start);
      parts.push(tf.tidy(() => fn(rows(x, start, size))));
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}

/** The items at `indices` (in that order) as a new Dataset; the caller disposes its images. */
export function subset(dataset: Dataset, indices: Int32Array, note?: string): Dataset {
  for (const i of indices) {
    if (!(i >= 0 && i < dataset.size)) {
      throw new Error(`subset: index ${i} outside 0 .. ${dataset.size - 1}`);
    }
  }
  const labels = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    labels[k] = dataset.labels[i]!;
  });
  return {
    ...dataset,
    images: tf.tidy(() => tf.gather(dataset.images, tf.tensor1d(indices, "int32"))),
    labels,
    size: indices.length,
    isSubset: true,
    source: `${dataset.source}, ${note ?? `subset of ${indices.length}`}`,
    content: contentDigest(dataset.content, indices),
  };
}

/** The first n items (all of them when n >= size) as a new Dataset. */
export function firstN(dataset: Dataset, n: number): Dataset {
  const count = Math.min(n, dataset.size);
  return subset(dataset, Int32Array.from({ length: count }, (_, i) => i), `first ${count}`);
}

/** n items drawn without replacement by `rng`, kept in file order, as a new Dataset. */
export function randomSubset(dataset: Dataset, n: number, rng: Rng): Dataset {
  const count = Math.min(n, dataset.size);
  const indices = rng.permutation(dataset.size).slice(0, count).sort();
  return subset(dataset, indices, `random subset of ${count}`);
}
