/**
 * The per-epoch log of a training: the terms' means over the epoch's examples, the test
 * set's after the epoch (if any), the epoch's time and throughput.
 */
import { evaluate } from "./evaluate";
import type { StepEvent, TrainObserver } from "./epochs";
import { addTerms } from "./observers";
import type { TrainPlan } from "./plan";
import type { LogRow, TrainOptions, Trainable, TrainingData } from "./train";

/**
 * One row per epoch: epoch, steps, train_<term>, test_<term>, seconds (evaluation included),
 * images_per_s (steps only). Each row also goes to `options.onEpoch`.
 */
export function epochLog<M extends Trainable>(
  options: TrainOptions<M>,
  plan: TrainPlan,
): TrainObserver & { readonly rows: LogRow[] } {
  const rows: LogRow[] = [];
  let names: readonly string[] = [];
  let sums: Record<string, number> = {};
  let seen = 0;
  let trainMs = 0;
  let t0 = 0;
  return {
    rows,
    startEpoch(): void {
      t0 = performance.now();
      sums = {};
      seen = 0;
      trainMs = 0;
    },
    afterStep(e: StepEvent, ms: number): void {
      names = e.names;
      addTerms(sums, e);
      seen += e.size;
      trainMs += ms;
    },
    async endEpoch(epoch: number, steps: number): Promise<void> {
      const row: LogRow = { epoch, steps };
      for (const k of names) row[`train_${k}`] = (sums[k] ?? NaN) / seen;
      if (options.test) Object.assign(row, await testColumns(options, options.test, plan, epoch));
      row.seconds = (performance.now() - t0) / 1000;
      row.images_per_s = seen / (trainMs / 1000);
      rows.push(row);
      options.onEpoch?.(row);
    },
  };
}

/** test_<term>: the means over the test set, its transforms drawn as every epoch. */
async function testColumns<M extends Trainable>(
  options: TrainOptions<M>,
  test: TrainingData,
  plan: TrainPlan,
  epoch: number,
): Promise<LogRow> {
  const means = await evaluate(options.model, options.loss, test, {
    batchSize: options.evalBatchSize,
    inputTransform: options.inputTransform,
    targetTransform: options.targetTransform,
    seed: plan.seed,
    epoch,
  });
  return Object.fromEntries(Object.entries(means).map(([k, v]) => [`test_${k}`, v]));
}
