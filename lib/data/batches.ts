/**
 * Seeded, deterministic shuffling, batching and subsetting of data sets. Randomness comes
 * only from the Rng passed in (Rng.stream("...") of lib/random), so a run is repeatable.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import type { Dataset } from "./datasets";

export interface BatchOptions {
  /** Shuffle with this generator (a fresh permutation per call); file order when absent. */
  readonly shuffle?: Rng;
  /** Drop a last batch smaller than batchSize (default false). */
  readonly dropLast?: boolean;
}

/** One batch: its images, their labels (when the source has labels) and their indices. */
export interface Batch {
  /** The batch's rows of the source tensor; disposed when the next batch is drawn. */
  readonly x: tf.Tensor;
  readonly labels: Int32Array | null;
  readonly indices: Int32Array;
}

/** Splits 0 .. n-1 (shuffled when asked) into batches of indices. */
export function batchIndices(n: number, batchSize: number, options: BatchOptions = {}): Int32Array[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`batchIndices: n must be >= 0, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  }
  let order: Int32Array;
  if (options.shuffle) {
    order = options.shuffle.permutation(n);
  } else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const out: Int32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    if (options.dropLast && end - start < batchSize) break;
    out.push(order.subarray(start, end));
  }
  return out;
}

/**
 * Iterates over batches of a data set (or of any tensor, along its first axis). Each
 * batch tensor is freed when the next one is drawn and when the loop ends (break
 * included); clone it (`tf.clone` / `.clone()`) to keep it longer.
 */
export function* batches(
  source: Dataset | tf.Tensor,
  batchSize: number,
  options: BatchOptions = {},
): Generator<Batch, void, undefined> {
  const data = source instanceof tf.Tensor ? source : source.images;
  const labels = source instanceof tf.Tensor ? null : source.labels;
  const n = data.shape[0] ?? 0;
  let current: tf.Tensor | null = null;
  try {
    for (const indices of batchIndices(n, batchSize, options)) {
      current?.dispose();
      current = null;
      current = options.shuffle
        ? gatherRows(data, indices)
        : tf.slice(data, (indices[0] ?? 0) as number, indices.length);
      yield { x: current, labels: labels ? pick(labels, indices) : null, indices };
    }
  } finally {
    current?.dispose();
  }
}

/** The items at `indices` (in that order) as a new Dataset; the caller disposes its images. */
export function subset(dataset: Dataset, indices: Int32Array, note?: string): Dataset {
  for (const i of indices) {
    if (!(i >= 0 && i < dataset.size)) {
      throw new Error(`subset: index ${i} outside 0 .. ${dataset.size - 1}`);
    }
  }
  return {
    ...dataset,
    images: gatherRows(dataset.images, indices) as tf.Tensor4D,
    labels: pick(dataset.labels, indices),
    size: indices.length,
    source: `${dataset.source}, ${note ?? `subset of ${indices.length}`}`,
  };
}

/** The first n items (all of them when n >= size) as a new Dataset. */
export function firstN(dataset: Dataset, n: number): Dataset {
  const count = Math.min(n, dataset.size);
  const indices = new Int32Array(count);
  for (let i = 0; i < count; i++) indices[i] = i;
  return subset(dataset, indices, `first ${count}`);
}

/** n items drawn without replacement by `rng`, kept in file order, as a new Dataset. */
export function randomSubset(dataset: Dataset, n: number, rng: Rng): Dataset {
  const count = Math.min(n, dataset.size);
  const indices = rng.permutation(dataset.size).slice(0, count).sort();
  return subset(dataset, indices, `random subset of ${count}`);
}

/** Indices of the items with a given label, in file order. */
export function indicesOfClass(dataset: Dataset, label: number): Int32Array {
  const out: number[] = [];
  dataset.labels.forEach((l, i) => {
    if (l === label) out.push(i);
  });
  return Int32Array.from(out);
}

function gatherRows(data: tf.Tensor, indices: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(data, tf.tensor1d(indices, "int32")));
}

function pick(values: Int32Array, indices: Int32Array): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i] as number] as number;
  return out;
}
