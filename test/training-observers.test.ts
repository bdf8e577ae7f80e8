import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Linear } from "../lib/nn";
import { Rng } from "../lib/random";
import { epochLog } from "../lib/training/epoch-log";
import type { StepEvent } from "../lib/training/epochs";
import { Interrupted } from "../lib/training/interrupt";
import { meanSquaredError, reconstructionLoss } from "../lib/training/losses";
import {
  finiteGuard,
  interruptStop,
  nonFinite,
  progressDisplay,
  stepHistory,
} from "../lib/training/observers";
import { type TrainPlan } from "../lib/training/plan";
import type { LogRow } from "../lib/training/train";

/** 2 epochs of 3 steps (batches of 10, 10, 5), 5 steps in all, a history row every 2. */
const plan: TrainPlan = {
  n: 25,
  epochs: 2,
  batchSize: 10,
  stepsPerEpoch: 3,
  totalSteps: 5,
  logEvery: 2,
  learningRate: 1e-3,
  seed: 1,
  shuffle: true,
  mode: "log",
};

/** Step `step` (1-based overall) of the plan, its loss `loss` and a term `kl`. */
function event(step: number, loss: number, kl = 0, gradient = 1): StepEvent {
  const stepInEpoch = ((step - 1) % 3) + 1;
  return {
    epoch: Math.ceil(step / 3),
    stepInEpoch,
    step,
    names: ["loss", "kl"],
    values: Float32Array.from([loss, kl, gradient]),
    size: stepInEpoch === 3 ? 5 : 10,
  };
}

describe("training observers", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("finiteGuard refuses a NaN or infinite term or gradient, saying which and where", () => {
    const guard = finiteGuard();
    guard.checkStep!(event(1, 2, 3));
    assert.throws(
      () => guard.checkStep!(event(4, 2, NaN)),
      /^Error: train: kl = NaN at epoch 2, step 1 \(step 4 overall\); stopped before updating the parameters\. Lower the learning rate/,
    );
    assert.throws(
      () => guard.checkStep!(event(2, 2, 3, Infinity)),
      /gradient squared norm = Infinity at epoch 1, step 2 \(step 2 overall\)/,
    );
    assert.equal(nonFinite(["a", "b"], [1, -Infinity]), "b = -Infinity");
    assert.equal(nonFinite(["a"], [0]), null);
  });

  it("stepHistory: a row every logEvery steps, at each epoch's end and the last step; means weighted by batch size", () => {
    const history = stepHistory(plan);
    [1, 2, 3, 4, 5].forEach((s) => history.afterStep!(event(s, s, 10 * s), 0));
    const rows = history.rows;
    assert.deepEqual(
      rows.map((r) => r.step),
      [2, 3, 4, 5],
    );
    assert.deepEqual(rows[0], { step: 2, epoch: 2 / 3, train_loss: 1.5, train_kl: 15 });
    assert.deepEqual(rows[1], { step: 3, epoch: 1, train_loss: 3, train_kl: 30 });
    assert.deepEqual(rows[3], { step: 5, epoch: 1 + 2 / 3, train_loss: 5, train_kl: 50 });
  });

  it("progressDisplay: the last line says why the training stopped", () => {
    const lines: string[] = [];
    const show = (failure: { error: unknown } | null): string => {
      const p = progressDisplay(plan, "tiny", (t) => lines.push(t));
      p.startEpoch!(1);
      p.afterStep!(event(1, 0.25), 0);
      p.finish!(failure);
      return lines.pop()!;
    };
    assert.match(show(null), /tiny.*loss 0\.25/);
    assert.match(show({ error: new Error("boom") }), /stopped: boom/);
    const interrupted = new Interrupted("interrupted at epoch 1, step 1; nothing saved", true);
    assert.match(
      show({ error: interrupted }),
      /tiny.*interrupted at epoch 1, step 1; nothing saved/,
    );
    assert.doesNotMatch(show({ error: interrupted }), /stopped/);
  });

  it("interruptStop: SIGINT stops at the next check with Interrupted saying where; finish gives SIGINT back", async () => {
    const listeners = process.listeners("SIGINT").length;
    const watch = interruptStop("silent");
    await watch.afterStep!(event(4, 1), 0);
    await watch.endTraining!();
    process.emit("SIGINT", "SIGINT");
    await assert.rejects(
      Promise.resolve(watch.endTraining!()),
      (e: unknown) =>
        e instanceof Interrupted &&
        e.message === "interrupted at epoch 2, step 1; nothing saved" &&
        !e.shown,
    );
    watch.finish!(null);
    assert.equal(process.listeners("SIGINT").length, listeners);
  });

  it("epochLog: one row per epoch with train means, test means, time and throughput; onEpoch sees it", async () => {
    const model = new Linear(2, 1, { rng: new Rng(1) });
    const points = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const targets = tf.tensor2d([1, 0, 1], [3, 1]);
    const loss = reconstructionLoss(meanSquaredError);
    const seen: LogRow[] = [];
    const test = { inputs: points, targets };
    const log = epochLog(
      { model, loss, train: test, test, onEpoch: (r) => void seen.push(r) },
      plan,
    );
    log.startEpoch!(1);
    log.afterStep!(event(1, 2, 4), 10);
    log.afterStep!(event(2, 4, 8), 10);
    log.afterStep!(event(3, 1, 2), 5);
    const before = tf.memory().numTensors;
    await log.endEpoch!(1, 3);
    assert.equal(tf.memory().numTensors, before);
    const row = log.rows[0]!;
    const expected = tf.tidy(() => meanSquaredError(model.forward(points), targets).dataSync()[0]!);
    assert.deepEqual(Object.keys(row), [
      "epoch",
      "steps",
      "train_loss",
      "train_kl",
      "test_loss",
      "seconds",
      "images_per_s",
    ]);
    assert.equal(row.train_loss, (2 * 10 + 4 * 10 + 1 * 5) / 25);
    assert.equal(row.train_kl, (4 * 10 + 8 * 10 + 2 * 5) / 25);
    assert.ok(Math.abs(row.test_loss! - expected) < 1e-6);
    assert.equal(row.images_per_s, 25 / 0.025);
    assert.deepEqual(seen, [row]);
    tf.dispose([points, targets]);
    model.dispose();
  });
});
