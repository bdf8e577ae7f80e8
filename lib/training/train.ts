/**
 * The one training loop of the notebooks: Adam, a loss function returning named terms,
 * optional input/target transforms (corruptions, 2x downscaling, noisy targets), seeded
 * shuffling, per-epoch evaluation on a test set, a progress display, a NaN/Inf stop, and
 * a per-epoch log as a polars DataFrame. It frees every tensor it creates.
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import { Rng } from "../random";
import { settings } from "../settings";
import { Progress, type ProgressMode } from "../viz/progress";
import type { LossFn, LossResult, StepContext } from "./losses";

/** Examples along the first axis; targets default to the inputs (autoencoders). */
export interface Dataset {
  inputs: tf.Tensor;
  /** E.g. the clean images of a denoiser, or class labels [N]. Default: inputs. */
  targets?: tf.Tensor;
}

/**
 * Maps a batch to a batch (called inside tf.tidy). ctx.training tells training from test
 * evaluation, ctx.seed() gives seeds for tfjs random ops. Test-time draws repeat the same
 * way every epoch, so test losses of different epochs are comparable.
 */
export type Transform = (x: tf.Tensor, ctx: StepContext) => tf.Tensor;

/** Anything with trainable variables. */
export interface Trainable {
  parameters(): tf.Variable[];
}

export interface TrainOptions<M extends Trainable> {
  model: M;
  loss: LossFn<M>;
  train: Dataset;
  /** Evaluated after every epoch (every loss term), if given. */
  test?: Dataset;
  /** Default 1. */
  epochs?: number;
  /** Stop after this many optimiser steps in all (the last epoch may be partial). */
  maxSteps?: number;
  /** Default 100 (the lecture's). */
  batchSize?: number;
  /** Batch size for test evaluation (default 500). */
  evalBatchSize?: number;
  /** Adam's learning rate (default 1e-3). Ignored when `optimizer` is given. */
  learningRate?: number;
  /** Another optimiser; default Adam(lr, 0.9, 0.999, eps 1e-8) as torch.optim.Adam. */
  optimizer?: tf.Optimizer;
  /** Applied to the input batch (a corruption, a 2x downscale). */
  inputTransform?: Transform;
  /** Applied to the target batch (Noise2Noise's noisy targets). */
  targetTransform?: Transform;
  /** Seed of shuffling and transforms (default settings.seed). */
  seed?: number;
  /** Default true; false keeps the dataset order. */
  shuffle?: boolean;
  /** Shown by the progress display (default "train"). */
  label?: string;
  /** Progress display mode (default "auto"); false = "silent". */
  progress?: ProgressMode | false;
  /** Called after each epoch with its log row. */
  onEpoch?: (row: EpochRow) => void;
}

/**
 * One epoch of the log: epoch, steps (cumulative), train_<term> (mean over the epoch's
 * batches), test_<term> (after the epoch), seconds (with evaluation), images_per_s
 * (training only).
 */
export type EpochRow = Record<string, number>;

export interface TrainResult {
  /** Columns: epoch, steps, train_<term>..., test_<term>..., seconds, images_per_s. */
  log: pl.DataFrame;
  rows: EpochRow[];
  /** Optimiser steps done. */
  steps: number;
  /** Wall time, evaluation included. */
  seconds: number;
  /** Training throughput (evaluation excluded). */
  imagesPerSecond: number;
}

function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`train: ${what} must be a positive integer, got ${n}`);
  return n;
}

function checkDataset(which: string, d: Dataset): number {
  const n = d.inputs.shape[0];
  if (n === undefined || n === 0) throw new Error(`train: the ${which} set is empty`);
  if (d.targets !== undefined && d.targets.shape[0] !== n) {
    throw new Error(
      `train: the ${which} set has ${n} inputs but ${d.targets.shape[0]} targets; give one target per input`,
    );
  }
  return n;
}

/** The term names of a loss result, "loss" first; fixed by the first call. */
function termNames(terms: Record<string, tf.Scalar> | undefined): string[] {
  return ["loss", ...Object.keys(terms ?? {}).filter((k) => k !== "loss")];
}

function seedSource(rng: Rng): () => number {
  return () => rng.seed();
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One batch: gather rows `idx` and apply the transforms (call inside tidy). */
function batchOf(
  data: Dataset,
  idx: Int32Array,
  ctx: StepContext,
  inputTransform: Transform | undefined,
  targetTransform: Transform | undefined,
): { input: tf.Tensor; target: tf.Tensor } {
  const indices = tf.tensor1d(idx, "int32");
  const x = tf.gather(data.inputs, indices);
  const t = data.targets === undefined ? x : tf.gather(data.targets, indices);
  return {
    input: inputTransform ? inputTransform(x, ctx) : x,
    target: targetTransform ? targetTransform(t, ctx) : t,
  };
}

/** The scalars of `names` in a loss result; throws if the loss function changed its terms. */
function pickTerms(r: LossResult, names: readonly string[], where: string): tf.Scalar[] {
  return names.map((k) => {
    const t = k === "loss" ? r.loss : r.terms?.[k];
    if (t === undefined) {
      throw new Error(
        `train: the loss function returned no term "${k}" ${where}; return the same terms every call`,
      );
    }
    return t;
  });
}

function nonFinite(names: string[], values: ArrayLike<number>): string | null {
  for (let i = 0; i < names.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) return `${names[i]} = ${v}`;
  }
  return null;
}

/** Mean of every loss term over `data`, in batches, without gradients. */
export function evaluate<M extends Trainable>(
  model: M,
  loss: LossFn<M>,
  data: Dataset,
  options: {
    batchSize?: number;
    inputTransform?: Transform;
    targetTransform?: Transform;
    seed?: number;
    epoch?: number;
  } = {},
): Record<string, number> {
  const n = checkDataset("evaluation", data);
  const batchSize = positiveInt("evalBatchSize", options.batchSize ?? 500);
  // The same stream every call: test corruptions identical from epoch to epoch.
  const rng = Rng.stream("train/test-transforms", options.seed ?? settings.seed);
  const sums: Record<string, number> = {};
  const names: string[] = [];
  for (let start = 0, b = 1; start < n; start += batchSize, b++) {
    const idx = new Int32Array(Math.min(batchSize, n - start)).map((_, i) => start + i);
    const ctx: StepContext = {
      training: false,
      seed: seedSource(rng),
      epoch: options.epoch ?? 0,
      step: b,
    };
    const values = tf.tidy(() => {
      const { input, target } = batchOf(
        data,
        idx,
        ctx,
        options.inputTransform,
        options.targetTransform,
      );
      const r = loss(model, input, target, ctx);
      if (names.length === 0) names.push(...termNames(r.terms));
      return tf.stack(pickTerms(r, names, `on the test set (batch ${b})`));
    });
    const v = values.dataSync();
    values.dispose();
    const bad = nonFinite(names, v);
    if (bad !== null) {
      throw new Error(
        `evaluate: ${bad} on the test set after epoch ${options.epoch ?? 0} (batch ${b}); the model diverged, lower the learning rate`,
      );
    }
    names.forEach((k, i) => {
      sums[k] = (sums[k] ?? 0) + (v[i] as number) * idx.length;
    });
  }
  const means: Record<string, number> = {};
  for (const [k, s] of Object.entries(sums)) means[k] = s / n;
  return means;
}

/**
 * Trains `model` by minimising `loss` with Adam. Returns the per-epoch log. Throws, naming
 * the epoch and step, as soon as the loss or a term is NaN or infinite (the parameters are
 * those before that step).
 */
export async function train<M extends Trainable>(options: TrainOptions<M>): Promise<TrainResult> {
  const { model, loss } = options;
  const n = checkDataset("training", options.train);
  if (options.test) checkDataset("test", options.test);
  const epochs = positiveInt("epochs", options.epochs ?? 1);
  const batchSize = positiveInt("batchSize", options.batchSize ?? 100);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const maxSteps =
    options.maxSteps === undefined
      ? epochs * stepsPerEpoch
      : positiveInt("maxSteps", options.maxSteps);
  const totalSteps = Math.min(maxSteps, epochs * stepsPerEpoch);
  const seed = options.seed ?? settings.seed;
  const vars = model.parameters();
  if (vars.length === 0) throw new Error("train: the model has no parameters");
  const ownOptimizer = options.optimizer === undefined;
  const optimizer =
    options.optimizer ?? tf.train.adam(options.learningRate ?? 1e-3, 0.9, 0.999, 1e-8);
  const shuffleRng = Rng.stream("train/shuffle", seed);
  const transformRng = Rng.stream("train/transforms", seed);
  const totalImages = Math.min(totalSteps * batchSize, epochs * n);
  const progress = new Progress({
    total: totalImages,
    label: options.label ?? "train",
    unit: "img",
    mode: options.progress === false ? "silent" : (options.progress ?? "auto"),
  });

  const rows: EpochRow[] = [];
  const t0 = performance.now();
  let trainMs = 0;
  let step = 0;
  let imagesDone = 0;
  let lastYield = performance.now();
  const names: string[] = [];
  let stopped: string | undefined;
  try {
    for (let epoch = 1; epoch <= epochs && step < totalSteps; epoch++) {
      const tEpoch = performance.now();
      const order =
        options.shuffle === false
          ? Int32Array.from({ length: n }, (_, i) => i)
          : shuffleRng.permutation(n);
      const sums: Record<string, number> = {};
      let seen = 0;
      let epochTrainMs = 0;
      for (let b = 0; b < stepsPerEpoch && step < totalSteps; b++) {
        const tStep = performance.now();
        const idx = order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
        const ctx: StepContext = {
          training: true,
          seed: seedSource(transformRng),
          epoch,
          step: b + 1,
        };
        const kept: tf.Tensor[] = [];
        try {
          tf.tidy(() => {
            const { input, target } = batchOf(
              options.train,
              idx,
              ctx,
              options.inputTransform,
              options.targetTransform,
            );
            const { grads } = tf.variableGrads(() => {
              const r = loss(model, input, target, ctx);
              if (names.length === 0) names.push(...termNames(r.terms));
              const where = `at epoch ${epoch}, step ${b + 1}`;
              for (const t of pickTerms(r, names, where)) kept.push(tf.keep(t));
              return r.loss;
            }, vars);
            const values = tf.stack(kept).dataSync();
            const bad = nonFinite(names, values);
            if (bad !== null) {
              throw new Error(
                `train: ${bad} at epoch ${epoch}, step ${b + 1} (step ${step + 1} overall); stopped before updating the parameters. Lower the learning rate or check the inputs and the loss.`,
              );
            }
            optimizer.applyGradients(grads as tf.NamedTensorMap);
            names.forEach((k, i) => {
              sums[k] = (sums[k] ?? 0) + (values[i] as number) * idx.length;
            });
          });
        } finally {
          tf.dispose(kept);
        }
        step++;
        seen += idx.length;
        imagesDone += idx.length;
        const stepMs = performance.now() - tStep;
        trainMs += stepMs;
        epochTrainMs += stepMs;
        progress.update(imagesDone, { epoch, loss: (sums.loss ?? 0) / seen });
        // Let a notebook kernel send the progress display.
        if (performance.now() - lastYield > 200) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      const row: EpochRow = { epoch, steps: step };
      for (const k of names.length > 0 ? names : ["loss"])
        row[`train_${k}`] = (sums[k] ?? NaN) / seen;
      if (options.test) {
        const testMeans = evaluate(model, loss, options.test, {
          batchSize: options.evalBatchSize,
          inputTransform: options.inputTransform,
          targetTransform: options.targetTransform,
          seed,
          epoch,
        });
        for (const [k, v] of Object.entries(testMeans)) row[`test_${k}`] = v;
      }
      row.seconds = (performance.now() - tEpoch) / 1000;
      row.images_per_s = seen / (epochTrainMs / 1000);
      rows.push(row);
      options.onEpoch?.(row);
    }
  } catch (e) {
    stopped = e instanceof Error ? e.message : String(e);
    throw e;
  } finally {
    if (ownOptimizer) optimizer.dispose();
    const last = rows[rows.length - 1];
    progress.finish(
      stopped !== undefined
        ? `stopped: ${stopped.length > 120 ? `${stopped.slice(0, 117)}...` : stopped}`
        : last
          ? Object.entries(last)
              .filter(([k]) => k.startsWith("test_") || k.startsWith("train_"))
              .map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`)
              .join(" ")
          : undefined,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    log: logFrame(rows),
    rows,
    steps: step,
    seconds,
    imagesPerSecond: imagesDone / (trainMs / 1000),
  };
}

/** The log rows as a DataFrame (epoch and steps as integers). */
export function logFrame(rows: readonly EpochRow[]): pl.DataFrame {
  if (rows.length === 0) return pl.DataFrame({ epoch: [] as number[] });
  const columns = Object.keys(rows[0] as EpochRow);
  const data: Record<string, pl.Series> = {};
  for (const c of columns) {
    const values = rows.map((r) => r[c] ?? NaN);
    data[c] =
      c === "epoch" || c === "steps"
        ? pl.Series(c, values, pl.Int32)
        : pl.Series(c, values, pl.Float64);
  }
  return pl.DataFrame(data);
}
