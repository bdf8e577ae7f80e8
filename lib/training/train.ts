/**
 * The one training loop of the notebooks: Adam, a loss function returning named terms,
 * optional input/target transforms (corruptions, noisy targets), seeded shuffling, a
 * training log every few steps (about 100 points a run) and a test evaluation after every
 * epoch, a progress display, and a stop on a non-finite loss or gradient before it reaches
 * the parameters, or on an interrupt (Jupyter's Interrupt, Ctrl-C) within one step. It frees
 * every tensor it creates.
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import { INFERENCE_BATCH, forEachBatch } from "../data/batches";
import { Rng } from "../random";
import { settings } from "../settings";
import { Progress, type ProgressMode } from "../viz/progress";
import { Interrupted, watchInterrupts } from "./interrupt";
import type { LossFn, LossResult, StepContext } from "./losses";

/** Examples along the first axis; targets default to the inputs (autoencoders). */
export interface TrainingData {
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
  train: TrainingData;
  /** Evaluated after every epoch (every loss term), if given. */
  test?: TrainingData;
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
  /** Points in the step log (default 100): one row every ceil(total steps / points) steps. */
  logPoints?: number;
  /** Called after each epoch with its log row. */
  onEpoch?: (row: LogRow) => void;
}

/** A row of a log: column name to number. */
export type LogRow = Record<string, number>;

export interface TrainResult {
  /** One row per epoch: epoch, steps, train_<term> (epoch means), test_<term>, seconds, images_per_s. */
  log: pl.DataFrame;
  /** One row every few steps: step, epoch (fractional, for charts), train_<term> (means since the last row). */
  history: pl.DataFrame;
  /** Optimiser steps done. */
  steps: number;
  /** Wall time, evaluation included. */
  seconds: number;
  /** Training throughput (evaluation excluded). */
  imagesPerSecond: number;
}

function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`train: ${what} must be a positive integer, got ${n}`);
  }
  return n;
}

function checkData(which: string, d: TrainingData): number {
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

function nonFinite(names: readonly string[], values: ArrayLike<number>): string | null {
  for (let i = 0; i < names.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) return `${names[i]} = ${v}`;
  }
  return null;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Input and target of a batch, transformed (call inside tidy). */
function transformed(
  x: tf.Tensor,
  t: tf.Tensor,
  ctx: StepContext,
  inputTransform: Transform | undefined,
  targetTransform: Transform | undefined,
): { input: tf.Tensor; target: tf.Tensor } {
  return {
    input: inputTransform ? inputTransform(x, ctx) : x,
    target: targetTransform ? targetTransform(t, ctx) : t,
  };
}

export interface EvaluateOptions {
  batchSize?: number;
  inputTransform?: Transform;
  targetTransform?: Transform;
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
  // The same stream every call: test corruptions identical from epoch to epoch.
  const rng = Rng.stream("train/test-transforms", options.seed ?? settings.seed);
  const epoch = options.epoch ?? 0;
  const names: string[] = [];
  // One row per batch: its terms times its size.
  const rows: tf.Tensor[] = [];
  const tensors = data.targets === undefined ? [data.inputs] : [data.inputs, data.targets];
  try {
    forEachBatch(tensors, batchSize, (batch, start) => {
      const b = start / batchSize + 1;
      const ctx: StepContext = { training: false, seed: () => rng.seed(), epoch, step: b };
      const [x, t] = batch as [tf.Tensor, tf.Tensor | undefined];
      const { input, target } = transformed(
        x,
        t ?? x,
        ctx,
        options.inputTransform,
        options.targetTransform,
      );
      const r = loss(model, input, target, ctx);
      if (names.length === 0) names.push(...termNames(r.terms));
      const terms = tf.stack(pickTerms(r, names, `on the test set (batch ${b})`));
      rows.push(tf.keep(tf.mul(terms, x.shape[0] as number)));
    });
    const packed = tf.stack(rows);
    const values = await packed.data();
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
        sums[i] = (sums[i] as number) + v;
      });
    });
    return Object.fromEntries(names.map((k, i) => [k, (sums[i] as number) / n]));
  } finally {
    tf.dispose(rows);
  }
}

/** Sum of squares of every gradient, as one scalar (for the finiteness check). */
function squaredNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))) as tf.Scalar;
}

/**
 * Trains `model` by minimising `loss` with Adam. Returns the per-epoch log and the step
 * log. Throws, naming the epoch and step, as soon as the loss, a term or the gradient is
 * NaN or infinite (the parameters are those before that step). On SIGINT it stops before
 * the next step and throws Interrupted ("interrupted at epoch 1, step 212; nothing saved",
 * also the progress display's last line): it returns no logs, so nothing gets saved.
 */
export async function train<M extends Trainable>(options: TrainOptions<M>): Promise<TrainResult> {
  const { model, loss } = options;
  const n = checkData("training", options.train);
  if (options.test) checkData("test", options.test);
  const epochs = positiveInt("epochs", options.epochs ?? 1);
  const batchSize = positiveInt("batchSize", options.batchSize ?? 100);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const maxSteps =
    options.maxSteps === undefined
      ? epochs * stepsPerEpoch
      : positiveInt("maxSteps", options.maxSteps);
  const totalSteps = Math.min(maxSteps, epochs * stepsPerEpoch);
  const logEvery = Math.ceil(totalSteps / positiveInt("logPoints", options.logPoints ?? 100));
  const lr = options.learningRate ?? 1e-3;
  if (options.optimizer === undefined && !(Number.isFinite(lr) && lr > 0)) {
    throw new Error(`train: learningRate must be a positive finite number, got ${lr}`);
  }
  const seed = options.seed ?? settings.seed;
  const vars = model.parameters();
  if (vars.length === 0) throw new Error("train: the model has no parameters");
  const mode = options.progress === false ? "silent" : (options.progress ?? "auto");
  const interrupts = watchInterrupts();
  // The rest of a cell that an interrupt ended outside any training must not train.
  if (interrupts.requested) {
    interrupts.release();
    throw new Interrupted("interrupted before training started; nothing saved");
  }
  const ownOptimizer = options.optimizer === undefined;
  const optimizer = options.optimizer ?? tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const shuffleRng = Rng.stream("train/shuffle", seed);
  const transformRng = Rng.stream("train/transforms", seed);
  const progress = new Progress({
    total: Math.min(totalSteps * batchSize, epochs * n),
    label: options.label ?? "train",
    unit: "img",
    epochs,
    mode,
  });

  const rows: LogRow[] = [];
  const history: LogRow[] = [];
  const t0 = performance.now();
  let trainMs = 0;
  let step = 0;
  let imagesDone = 0;
  let lastYield = performance.now();
  const names: string[] = [];
  let stopped: string | undefined;
  let epochNow = 1;
  let stepInEpoch = 0;
  const stopIfInterrupted = (): void => {
    if (!interrupts.requested) return;
    const where = `interrupted at epoch ${epochNow}, step ${stepInEpoch}; nothing saved`;
    throw new Interrupted(where, mode !== "silent");
  };
  // Sums of the terms since the last step-log row.
  let windowSums: Record<string, number> = {};
  let windowSeen = 0;
  try {
    for (let epoch = 1; epoch <= epochs && step < totalSteps; epoch++) {
      epochNow = epoch;
      stepInEpoch = 0;
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
          seed: () => transformRng.seed(),
          epoch,
          step: b + 1,
        };
        const where = `at epoch ${epoch}, step ${b + 1} (step ${step + 1} overall)`;
        // The step's terms and gradients are read back asynchronously (webgpu has no
        // synchronous read), then applied only when finite.
        const { packed, grads } = tf.tidy(() => {
          const indices = tf.tensor1d(idx, "int32");
          const x = tf.gather(options.train.inputs, indices);
          const t = options.train.targets ? tf.gather(options.train.targets, indices) : x;
          const { input, target } = transformed(
            x,
            t,
            ctx,
            options.inputTransform,
            options.targetTransform,
          );
          let terms: tf.Scalar[] = [];
          const g = tf.variableGrads(() => {
            const r = loss(model, input, target, ctx);
            if (names.length === 0) names.push(...termNames(r.terms));
            // Kept past variableGrads' own tidy to be stacked below.
            terms = pickTerms(r, names, where).map((s) => tf.keep(s));
            return r.loss;
          }, vars).grads;
          const stacked = tf.stack([...terms, squaredNorm(g)]);
          tf.dispose(terms);
          return { packed: stacked, grads: g };
        });
        try {
          const values = await packed.data();
          const bad = nonFinite([...names, "gradient squared norm"], values);
          if (bad !== null) {
            throw new Error(
              `train: ${bad} ${where}; stopped before updating the parameters. Lower the learning rate or check the inputs and the loss.`,
            );
          }
          optimizer.applyGradients(grads);
          names.forEach((k, i) => {
            const v = (values[i] as number) * idx.length;
            sums[k] = (sums[k] ?? 0) + v;
            windowSums[k] = (windowSums[k] ?? 0) + v;
          });
        } finally {
          tf.dispose([packed, ...Object.values(grads)]);
        }
        step++;
        stepInEpoch = b + 1;
        seen += idx.length;
        windowSeen += idx.length;
        imagesDone += idx.length;
        const stepMs = performance.now() - tStep;
        trainMs += stepMs;
        epochTrainMs += stepMs;
        if (step % logEvery === 0 || step === totalSteps || b === stepsPerEpoch - 1) {
          const row: LogRow = { step, epoch: epoch - 1 + (b + 1) / stepsPerEpoch };
          for (const k of names) row[`train_${k}`] = (windowSums[k] ?? NaN) / windowSeen;
          history.push(row);
          windowSums = {};
          windowSeen = 0;
        }
        progress.update(imagesDone, { epoch, loss: (sums.loss ?? 0) / seen });
        // Let a notebook kernel send the progress display, and SIGINT reach us.
        if (performance.now() - lastYield > 200) {
          await yieldToEventLoop();
          lastYield = performance.now();
          stopIfInterrupted();
        }
      }
      const row: LogRow = { epoch, steps: step };
      for (const k of names.length > 0 ? names : ["loss"]) {
        row[`train_${k}`] = (sums[k] ?? NaN) / seen;
      }
      if (options.test) {
        const testMeans = await evaluate(model, loss, options.test, {
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
    // A SIGINT during the last steps or the evaluation still stops the cell: nothing saved.
    await yieldToEventLoop();
    stopIfInterrupted();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    stopped = e instanceof Interrupted ? message : `stopped: ${message}`;
    throw e;
  } finally {
    interrupts.release();
    if (ownOptimizer) optimizer.dispose();
    // The epoch figures are in the log; the bar ends with the last loss, or why it stopped.
    progress.finish(stopped);
  }
  return {
    log: logFrame(rows, ["epoch", "steps"]),
    history: logFrame(history, ["step"]),
    steps: step,
    seconds: (performance.now() - t0) / 1000,
    imagesPerSecond: imagesDone / (trainMs / 1000),
  };
}

/** Log rows as a DataFrame, the `integer` columns as Int32, the others Float64. */
export function logFrame(rows: readonly LogRow[], integer: readonly string[]): pl.DataFrame {
  if (rows.length === 0) return pl.DataFrame({});
  const columns = Object.keys(rows[0] as LogRow);
  const data: Record<string, pl.Series> = {};
  for (const c of columns) {
    const values = rows.map((r) => r[c] ?? NaN);
    data[c] = integer.includes(c)
      ? pl.Series(c, values, pl.Int32)
      : pl.Series(c, values, pl.Float64);
  }
  return pl.DataFrame(data);
}
