/**
 * train()'s options, checked and resolved into the numbers the epoch runner and the
 * observers read, before anything is allocated. Each error names the option and what to do.
 */
import { settings } from "../settings";
import type { ProgressMode } from "../viz/progress";
import type { TrainOptions, Trainable, TrainingData } from "./train";

/** What a training does, resolved from its options. */
export interface TrainPlan {
  /** Training examples. */
  n: number;
  epochs: number;
  batchSize: number;
  stepsPerEpoch: number;
  /** Optimiser steps in all: epochs * stepsPerEpoch, or maxSteps if fewer. */
  totalSteps: number;
  /** A step-log row every this many steps. */
  logEvery: number;
  /** Adam's (unused with another optimiser). */
  learningRate: number;
  /** Seed of shuffling and transforms. */
  seed: number;
  shuffle: boolean;
  mode: ProgressMode;
}

export function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`train: ${what} must be a positive integer, got ${n}`);
  }
  return n;
}

/** The number of examples of a data set; throws if it is empty or its targets do not match. */
export function checkData(which: string, d: TrainingData): number {
  const n = d.inputs.shape[0];
  if (n === undefined || n === 0) throw new Error(`train: the ${which} set is empty`);
  if (d.targets !== undefined && d.targets.shape[0] !== n) {
    throw new Error(
      `train: the ${which} set has ${n} inputs but ${d.targets.shape[0]} targets; give one target per input`,
    );
  }
  return n;
}

/** The plan of a training; throws on the first bad option. */
export function planTraining<M extends Trainable>(o: TrainOptions<M>): TrainPlan {
  const n = checkData("training", o.train);
  if (o.test) checkData("test", o.test);
  const epochs = positiveInt("epochs", o.epochs ?? 1);
  const batchSize = positiveInt("batchSize", o.batchSize ?? 100);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const maxSteps =
    o.maxSteps === undefined ? epochs * stepsPerEpoch : positiveInt("maxSteps", o.maxSteps);
  const totalSteps = Math.min(maxSteps, epochs * stepsPerEpoch);
  const logEvery = Math.ceil(totalSteps / positiveInt("logPoints", o.logPoints ?? 100));
  const lr = o.learningRate ?? 1e-3;
  if (o.optimizer === undefined && !(Number.isFinite(lr) && lr > 0)) {
    throw new Error(`train: learningRate must be a positive finite number, got ${lr}`);
  }
  return {
    n,
    epochs,
    batchSize,
    stepsPerEpoch,
    totalSteps,
    logEvery,
    learningRate: lr,
    seed: o.seed ?? settings.seed,
    shuffle: o.shuffle !== false,
    mode: o.progress === false ? "silent" : (o.progress ?? "auto"),
  };
}
