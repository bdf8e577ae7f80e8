/**
 * The one training loop of the notebooks: Adam, a loss function returning named terms,
 * optional input/target transforms (corruptions, noisy targets), seeded shuffling, a
 * training log every few steps (about 100 points a run) and a test evaluation after every
 * epoch, a progress display, and a stop on a non-finite loss or gradient before it reaches
 * the parameters, or on an interrupt (Jupyter's Interrupt, Ctrl-C) within one step. It frees
 * every tensor it creates.
 *
 * The step itself (forward, loss, backward, Adam) is step.ts's trainStep; epochs.ts runs it
 * epoch after epoch; observers.ts and epoch-log.ts hold everything else.
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import type { ProgressMode } from "../viz/progress";
import { epochLog } from "./epoch-log";
import { runEpochs } from "./epochs";
import type { LossFn, StepContext } from "./losses";
import { finiteGuard, interruptStop, progressDisplay, stepHistory } from "./observers";
import { planTraining } from "./plan";
import { LossTerms } from "./step";

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

/**
 * Trains `model` by minimising `loss` with Adam. Returns the per-epoch log and the step
 * log. Throws, naming the epoch and step, as soon as the loss, a term or the gradient is
 * NaN or infinite (the parameters are those before that step). On SIGINT it stops before
 * the next step and throws Interrupted ("interrupted at epoch 1, step 212; nothing saved",
 * also the progress display's last line): it returns no logs, so nothing gets saved.
 */
export async function train<M extends Trainable>(options: TrainOptions<M>): Promise<TrainResult> {
  const { model, loss } = options;
  const plan = planTraining(options);
  const parameters = model.parameters();
  if (parameters.length === 0) throw new Error("train: the model has no parameters");
  const interrupts = interruptStop(plan.mode);
  const optimizer = options.optimizer ?? tf.train.adam(plan.learningRate, 0.9, 0.999, 1e-8);
  const log = epochLog(options, plan);
  const history = stepHistory(plan);
  const label = options.label ?? "train";
  // In the order they see each step; `finish` runs in reverse (the interrupt watch ends first).
  const observers = [finiteGuard(), log, history, progressDisplay(plan, label), interrupts];
  const setup = {
    model,
    loss,
    parameters,
    optimizer,
    terms: new LossTerms(),
    data: options.train,
    transforms: options,
  };
  const t0 = performance.now();
  try {
    const totals = await runEpochs(plan, setup, observers);
    return {
      log: logFrame(log.rows, ["epoch", "steps"]),
      history: logFrame(history.rows, ["step"]),
      steps: totals.steps,
      seconds: (performance.now() - t0) / 1000,
      imagesPerSecond: totals.images / (totals.trainMs / 1000),
    };
  } finally {
    if (options.optimizer === undefined) optimizer.dispose();
  }
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
