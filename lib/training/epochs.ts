/**
 * The epoch runner around trainStep: each epoch shuffles the examples and cuts them into
 * batches, and the observers (observers.ts, epoch-log.ts) see every step and epoch.
 */
import { Rng } from "../random";
import type { StepContext } from "./losses";
import type { TrainPlan } from "./plan";
import { type StepSetup, trainStep } from "./step";

/** Where a step is: its epoch, its number in the epoch and overall (all 1-based). */
export interface StepPlace {
  epoch: number;
  stepInEpoch: number;
  step: number;
}

/** A step, as observers see it. */
export interface StepEvent extends StepPlace {
  /** The loss's term names, "loss" first. */
  names: readonly string[];
  /** The terms' batch means in `names` order, then the gradient's squared norm. */
  values: Float32Array;
  /** Examples in the batch. */
  size: number;
}

/** Watches a training; every method is optional, and one that throws stops the training. */
export interface TrainObserver {
  startEpoch?(epoch: number): void;
  /** Before the parameters change: throws to refuse the step. */
  checkStep?(e: StepEvent): void;
  /** After the update; `ms`: the step's own time. */
  afterStep?(e: StepEvent, ms: number): void | Promise<void>;
  /** After an epoch's last step; `steps`: the steps done so far. */
  endEpoch?(epoch: number, steps: number): void | Promise<void>;
  /** After the last epoch. */
  endTraining?(): void | Promise<void>;
  /** Always, in reverse order of the observers: null, or what stopped the training. */
  finish?(failure: { error: unknown } | null): void;
}

/** What a run did. */
export interface RunTotals {
  steps: number;
  images: number;
  /** Time in the steps themselves (observers excluded). */
  trainMs: number;
}

/** "at epoch 2, step 3 (step 15 overall)", for messages. */
export function stepWhere(p: StepPlace): string {
  return `at epoch ${p.epoch}, step ${p.stepInEpoch} (step ${p.step} overall)`;
}

/** Runs the plan's epochs; every observer's `finish` runs however the training ends. */
export async function runEpochs<M>(
  plan: TrainPlan,
  setup: StepSetup<M>,
  observers: readonly TrainObserver[],
): Promise<RunTotals> {
  const totals: RunTotals = { steps: 0, images: 0, trainMs: 0 };
  const transformRng = Rng.stream("train/transforms", plan.seed);
  let failure: { error: unknown } | null = null;
  try {
    await epochs({ plan, setup, observers, transformRng, totals });
    for (const o of observers) await o.endTraining?.();
    return totals;
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    for (const o of [...observers].reverse()) o.finish?.(failure);
  }
}

/** A training under way. */
interface Run<M> {
  plan: TrainPlan;
  setup: StepSetup<M>;
  observers: readonly TrainObserver[];
  /** Where every transform's seeds come from, step after step. */
  transformRng: Rng;
  totals: RunTotals;
}

async function epochs<M>(run: Run<M>): Promise<void> {
  const { plan, observers, totals } = run;
  const { n, batchSize } = plan;
  const shuffleRng = Rng.stream("train/shuffle", plan.seed);
  for (let epoch = 1; epoch <= plan.epochs && totals.steps < plan.totalSteps; epoch++) {
    for (const o of observers) o.startEpoch?.(epoch);
    const order = plan.shuffle
      ? shuffleRng.permutation(n)
      : Int32Array.from({ length: n }, (_, i) => i);
    for (let b = 0; b < plan.stepsPerEpoch && totals.steps < plan.totalSteps; b++) {
      const indices = order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
      await step(run, indices, { epoch, stepInEpoch: b + 1, step: totals.steps + 1 });
    }
    for (const o of observers) await o.endEpoch?.(epoch, totals.steps);
  }
}

/** One step, the observers called before and after the update. */
async function step<M>(run: Run<M>, indices: Int32Array, place: StepPlace): Promise<void> {
  const { setup, observers, totals } = run;
  const t0 = performance.now();
  const ctx: StepContext = {
    training: true,
    seed: () => run.transformRng.seed(),
    epoch: place.epoch,
    step: place.stepInEpoch,
  };
  const event = (values: Float32Array): StepEvent => {
    return { ...place, names: setup.terms.names, values, size: indices.length };
  };
  const check = (values: Float32Array): void => {
    for (const o of observers) o.checkStep?.(event(values));
  };
  const values = await trainStep(setup, { indices, ctx, where: stepWhere(place), check });
  const ms = performance.now() - t0;
  totals.steps++;
  totals.images += indices.length;
  totals.trainMs += ms;
  for (const o of observers) await o.afterStep?.(event(values), ms);
}
