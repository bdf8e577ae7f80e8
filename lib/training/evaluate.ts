/**
 * A model's loss terms over a test set, in batches, without gradients: what train() logs
 * after every epoch.
 */
import * as tf from "@tensorflow/tfjs";
import { INFERENCE_BATCH, forEachBatch } from "../data/batches";
import { Rng } from "../random";
import { settings } from "../settings";
import type { LossFn, StepContext } from "./losses";
import { nonFinite } from "./observers";
import { checkData, positiveInt } from "./plan";
import { LossTerms, type Transforms, transformed } from "./step";
import type { Trainable, TrainingData } from "./train";

export interface EvaluateOptions extends Transforms {
  batchSize?: number;
  /** Seed of the test-time transforms (default settings.seed). */
  seed?: number;
  /** For messages and StepContext. */
  epoch?: number;
}

/**
 * Mean of every loss term over `data`, in batches, without gradients. Reads the sums back
 * once, asynchronously (backends such as webgpu have no synchronous read).
 */
export async function evaluate<M extends Trainable>(
  model: M,
  loss: LossFn<M>,
  data: TrainingData,
  options: EvaluateOptions = {},
): Promise<Record<string, number>> {
  const n = checkData("evaluation", data);
  const batchSize = positiveInt("evalBatchSize", options.batchSize ?? INFERENCE_BATCH);
  const epoch = options.epoch ?? 0;
  const terms = new LossTerms();
  // One row per batch: its terms times its size.
  const rows: tf.Tensor[] = [];
  try {
    const each = (x: tf.Tensor, t: tf.Tensor, ctx: StepContext): void => {
      const { input, target } = transformed(x, t, ctx, options);
      const r = loss(model, input, target, ctx);
      const stacked = tf.stack(terms.pick(r, `on the test set (batch ${ctx.step})`));
      rows.push(tf.keep(tf.mul(stacked, x.shape[0])));
    };
    forEachTestBatch(data, batchSize, { ...options, epoch }, each);
    return await meanTerms(rows, terms.names, n, epoch);
  } finally {
    tf.dispose(rows);
  }
}

/** Calls `fn` on each batch of `data` (inside tidy), with a test context. */
function forEachTestBatch(
  data: TrainingData,
  batchSize: number,
  options: { seed?: number; epoch: number },
  fn: (x: tf.Tensor, t: tf.Tensor, ctx: StepContext) => void,
): void {
  // The same stream every call: test corruptions identical from epoch to epoch.
  const rng = Rng.stream("train/test-transforms", options.seed ?? settings.seed);
  const tensors = data.targets === undefined ? [data.inputs] : [data.inputs, data.targets];
  forEachBatch(tensors, batchSize, (batch, start) => {
    const step = start / batchSize + 1;
    const ctx: StepContext = {
      training: false,
      seed: () => rng.seed(),
      epoch: options.epoch,
      step,
    };
    const [x, t] = batch as [tf.Tensor, tf.Tensor | undefined];
    fn(x, t ?? x, ctx);
  });
}

/** The means over `n` examples of per-batch sums [batches][terms], read back at once. */
async function meanTerms(
  rows: tf.Tensor[],
  names: readonly string[],
  n: number,
  epoch: number,
): Promise<Record<string, number>> {
  const packed = tf.stack(rows);
  const values = await packed.data<"float32">();
  packed.dispose();
  const sums = new Array<number>(names.length).fill(0);
  rows.forEach((_, b) => {
    const row = values.subarray(b * names.length, (b + 1) * names.length);
    const bad = nonFinite(names, row);
    if (bad !== null) {
      throw new Error(
        `evaluate: ${bad} on the test set after epoch ${epoch} (batch ${b + 1}); the model diverged, lower the learning rate`,
      );
    }
    row.forEach((v, i) => {
      sums[i] = sums[i]! + v;
    });
  });
  return Object.fromEntries(names.map((k, i) => [k, sums[i]! / n]));
}
