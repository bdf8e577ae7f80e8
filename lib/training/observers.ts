/**
 * What watches a training besides the step: the non-finite guard, the step history, the
 * progress display and interrupts (the per-epoch evaluation and log: epoch-log.ts). Each is
 * a TrainObserver the epoch runner calls; none changes what the step computes.
 */
import { watchInterrupts } from "../kernel/interrupts";
import { Progress, type ProgressMode } from "../viz/progress";
import { type StepEvent, type TrainObserver, stepWhere } from "./epochs";
import { Interrupted } from "./interrupt";
import type { TrainPlan } from "./plan";
import type { LogRow } from "./train";

/** "name = value" of the first value that is NaN or infinite, or null. */
export function nonFinite(names: readonly string[], values: ArrayLike<number>): string | null {
  for (let i = 0; i < names.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) return `${names[i]} = ${v}`;
  }
  return null;
}

/** Refuses a step whose loss, a term or the gradient is NaN or infinite: the parameters stay. */
export function finiteGuard(): TrainObserver {
  return {
    checkStep(e: StepEvent): void {
      const bad = nonFinite([...e.names, "gradient squared norm"], e.values);
      if (bad !== null) {
        throw new Error(
          `train: ${bad} ${stepWhere(e)}; stopped before updating the parameters. Lower the learning rate or check the inputs and the loss.`,
        );
      }
    },
  };
}

/** Adds the batch's terms, times its size, to `sums` (means are taken over examples). */
export function addTerms(sums: Record<string, number>, e: StepEvent): void {
  e.names.forEach((k, i) => {
    sums[k] = (sums[k] ?? 0) + e.values[i]! * e.size;
  });
}

/**
 * The step log: a row every `logEvery` steps, at each epoch's end and at the last step, with
 * the terms' means since the previous row and the epoch as a fraction (for charts).
 */
export function stepHistory(plan: TrainPlan): TrainObserver & { readonly rows: LogRow[] } {
  const rows: LogRow[] = [];
  let sums: Record<string, number> = {};
  let seen = 0;
  return {
    rows,
    afterStep(e: StepEvent): void {
      addTerms(sums, e);
      seen += e.size;
      const { step, stepInEpoch } = e;
      const { logEvery, totalSteps, stepsPerEpoch } = plan;
      if (step % logEvery === 0 || step === totalSteps || stepInEpoch === stepsPerEpoch) {
        const row: LogRow = { step, epoch: e.epoch - 1 + stepInEpoch / stepsPerEpoch };
        for (const k of e.names) row[`train_${k}`] = (sums[k] ?? NaN) / seen;
        rows.push(row);
        sums = {};
        seen = 0;
      }
    },
  };
}

/**
 * The progress bar: images done, the epoch's mean loss; its last line says why it stopped.
 * `write`: where terminal and log lines go (default stderr).
 */
export function progressDisplay(
  plan: TrainPlan,
  label: string,
  write?: (text: string) => void,
): TrainObserver {
  const total = Math.min(plan.totalSteps * plan.batchSize, plan.epochs * plan.n);
  const { epochs, mode } = plan;
  const progress = new Progress({ total, label, unit: "img", epochs, mode, write });
  let images = 0;
  let lossSum = 0;
  let seen = 0;
  return {
    startEpoch(): void {
      lossSum = 0;
      seen = 0;
    },
    afterStep(e: StepEvent): void {
      images += e.size;
      seen += e.size;
      lossSum += e.values[0]! * e.size; // "loss" comes first
      progress.update(images, { epoch: e.epoch, loss: lossSum / seen });
    },
    finish(failure: { error: unknown } | null): void {
      if (failure === null) return progress.finish();
      const e = failure.error;
      const message = e instanceof Error ? e.message : String(e);
      progress.finish(e instanceof Interrupted ? message : `stopped: ${message}`);
    },
  };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * SIGINT (Jupyter's Interrupt, Ctrl-C) stops the training between steps with Interrupted,
 * which says where; nothing is returned, so nothing gets saved. Throws at once if the running
 * cell was interrupted before the training started.
 */
export function interruptStop(mode: ProgressMode): TrainObserver {
  const interrupts = watchInterrupts();
  // The rest of a cell that an interrupt ended outside any training must not train.
  if (interrupts.requested) {
    interrupts.release();
    throw new Interrupted("interrupted before training started; nothing saved");
  }
  let at = "";
  let lastYield = performance.now();
  const stopIfInterrupted = (): void => {
    if (!interrupts.requested) return;
    throw new Interrupted(`interrupted ${at}; nothing saved`, mode !== "silent");
  };
  return {
    async afterStep(e: StepEvent): Promise<void> {
      at = `at epoch ${e.epoch}, step ${e.stepInEpoch}`;
      // Let a notebook kernel send the progress display, and SIGINT reach us.
      if (performance.now() - lastYield > 200) {
        await yieldToEventLoop();
        lastYield = performance.now();
        stopIfInterrupted();
      }
    },
    // A SIGINT during the last steps or the evaluation still stops the cell: nothing saved.
    async endTraining(): Promise<void> {
      await yieldToEventLoop();
      stopIfInterrupted();
    },
    finish: () => interrupts.release(),
  };
}
