import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Linear } from "../lib/nn";
import { Rng } from "../lib/random";
import {
  type RunTotals,
  type StepEvent,
  type TrainObserver,
  runEpochs,
} from "../lib/training/epochs";
import { type LossFn, meanSquaredError } from "../lib/training/losses";
import { planTraining } from "../lib/training/plan";
import { type Batch, LossTerms, type StepSetup, trainStep } from "../lib/training/step";

const ctx = { training: true, seed: () => 1, epoch: 1, step: 1 };

/** A mean-squared-error loss with its mean absolute error as a term. */
const mse: LossFn<Linear> = (m, input, target) => {
  const out = m.forward(input);
  return {
    loss: meanSquaredError(out, target),
    terms: { l1: tf.mean(tf.abs(tf.sub(out, target))) },
  };
};

function setup(model: Linear, data: tf.Tensor2D): StepSetup<Linear> {
  return {
    model,
    loss: mse,
    parameters: model.parameters(),
    optimizer: tf.train.sgd(0.1),
    terms: new LossTerms(),
    data: { inputs: data },
    transforms: {},
  };
}

describe("the training step", () => {
  let x: tf.Tensor2D;

  before(async () => {
    await initBackend({ quiet: true });
    x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
  });

  after(() => x.dispose());

  it("trainStep: forward, loss, backward, update; returns the terms and the gradient's squared norm", async () => {
    const model = new Linear(2, 2, { rng: new Rng(1) });
    const s = setup(model, x);
    const indices = Int32Array.from([2, 0]);
    const batch = tf.gather(x, Array.from(indices));
    const expected = tf.tidy(() => {
      const vars = model.parameters();
      const { value, grads } = tf.variableGrads(() => mse(model, batch, batch, ctx).loss, vars);
      const norm = tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))));
      const l1 = mse(model, batch, batch, ctx).terms!.l1!;
      const after = model.parameters().map((v) => tf.sub(v, tf.mul(0.1, grads[v.name]!)));
      return {
        values: [value, l1, norm].map((t) => t.dataSync()[0]!),
        after: after.map((t) => t.dataSync()),
      };
    });
    const before = tf.memory().numTensors;
    const seen: Float32Array[] = [];
    const where = "at epoch 1, step 1 (step 1 overall)";
    const values = await trainStep(s, { indices, ctx, where, check: (v) => seen.push(v.slice()) });
    assert.deepEqual(s.terms.names, ["loss", "l1"]);
    assert.deepEqual(Array.from(values), expected.values);
    assert.deepEqual(
      seen.map((v) => Array.from(v)),
      [Array.from(values)],
    );
    model.parameters().forEach((v, i) => {
      const d = v.dataSync();
      d.forEach((a, j) => assert.ok(Math.abs(a - expected.after[i]![j]!) < 1e-5));
    });
    assert.equal(tf.memory().numTensors, before, "the step frees what it made");
    tf.dispose(batch);
    s.optimizer.dispose();
    model.dispose();
  });

  it("trainStep: a check that throws leaves the parameters as they were, and no tensor behind", async () => {
    const model = new Linear(2, 2, { rng: new Rng(2) });
    const s = setup(model, x);
    const weights = model.parameters().map((v) => Array.from(v.dataSync()));
    const before = tf.memory().numTensors;
    const refuse: Batch = {
      indices: Int32Array.from([0, 1, 2, 3]),
      ctx,
      where: "here",
      check: () => {
        throw new Error("refused");
      },
    };
    await assert.rejects(trainStep(s, refuse), /refused/);
    assert.deepEqual(
      model.parameters().map((v) => Array.from(v.dataSync())),
      weights,
    );
    assert.equal(tf.memory().numTensors, before);
    s.optimizer.dispose();
    model.dispose();
  });

  it("LossTerms: names fixed by the first result, loss first; a missing term says where", () => {
    const terms = new LossTerms();
    const [a, b, c] = [tf.scalar(1), tf.scalar(2), tf.scalar(3)];
    assert.deepEqual(terms.pick({ loss: a, terms: { kl: b, fit: c } }, "there"), [a, b, c]);
    assert.deepEqual(terms.names, ["loss", "kl", "fit"]);
    assert.throws(
      () => terms.pick({ loss: a, terms: { kl: b } }, "at epoch 2, step 1"),
      /returned no term "fit" at epoch 2, step 1; return the same terms every call/,
    );
    tf.dispose([a, b, c]);
  });

  it("planTraining: steps, log interval and the last partial epoch; bad options named", () => {
    const inputs = tf.zeros([250, 2]);
    const plan = planTraining({
      model: { parameters: () => [] },
      loss: () => ({ loss: tf.scalar(0) }),
      train: { inputs },
      epochs: 4,
      batchSize: 100,
      maxSteps: 10,
      logPoints: 4,
      progress: false,
    });
    assert.equal(plan.stepsPerEpoch, 3);
    assert.equal(plan.totalSteps, 10);
    assert.equal(plan.logEvery, 3);
    assert.equal(plan.mode, "silent");
    assert.equal(plan.shuffle, true);
    const bad = {
      model: { parameters: () => [] },
      loss: () => ({ loss: tf.scalar(0) }),
      train: { inputs },
    };
    assert.throws(
      () => planTraining({ ...bad, maxSteps: 1.5 }),
      /maxSteps must be a positive integer/,
    );
    assert.throws(
      () => planTraining({ ...bad, logPoints: 0 }),
      /logPoints must be a positive integer/,
    );
    inputs.dispose();
  });
});

describe("the epoch runner", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  /** An observer that records every call, and throws where told. */
  function recorder(name: string, calls: string[], throwAtCheck?: number): TrainObserver {
    const at = (e: StepEvent): string => `${e.epoch}.${e.stepInEpoch}/${e.step}`;
    return {
      startEpoch: (epoch) => void calls.push(`${name} start ${epoch}`),
      checkStep: (e) => {
        calls.push(`${name} check ${at(e)}`);
        if (e.step === throwAtCheck) throw new Error(`refused step ${e.step}`);
      },
      afterStep: (e) => void calls.push(`${name} after ${at(e)} size ${e.size}`),
      endEpoch: (epoch, steps) => void calls.push(`${name} end ${epoch} (${steps} steps)`),
      endTraining: () => void calls.push(`${name} end training`),
      finish: (failure) => {
        const why = failure === null ? "ok" : (failure.error as Error).message;
        calls.push(`${name} finish ${why}`);
      },
    };
  }

  function run(calls: string[], throwAtCheck?: number): Promise<RunTotals> {
    const inputs = tf.zeros([5, 2]) as tf.Tensor2D;
    const model = new Linear(2, 2, { rng: new Rng(3) });
    const options = { model, loss: mse, train: { inputs }, epochs: 3, batchSize: 2, maxSteps: 5 };
    const plan = planTraining(options);
    const s = setup(model, inputs);
    const observers = [recorder("a", calls, throwAtCheck), recorder("b", calls)];
    return runEpochs(plan, s, observers).finally(() => {
      s.optimizer.dispose();
      inputs.dispose();
      model.dispose();
    });
  }

  it("calls the observers in order at every step and epoch, the last epoch partial", async () => {
    const calls: string[] = [];
    const totals = await run(calls);
    assert.equal(totals.steps, 5);
    assert.equal(totals.images, 9);
    const a = calls.filter((c) => c.startsWith("a "));
    assert.deepEqual(a, [
      "a start 1",
      "a check 1.1/1",
      "a after 1.1/1 size 2",
      "a check 1.2/2",
      "a after 1.2/2 size 2",
      "a check 1.3/3",
      "a after 1.3/3 size 1",
      "a end 1 (3 steps)",
      "a start 2",
      "a check 2.1/4",
      "a after 2.1/4 size 2",
      "a check 2.2/5",
      "a after 2.2/5 size 2",
      "a end 2 (5 steps)",
      "a end training",
      "a finish ok",
    ]);
    assert.deepEqual(calls.slice(0, 3), ["a start 1", "b start 1", "a check 1.1/1"]);
    assert.deepEqual(calls.slice(-2), ["b finish ok", "a finish ok"]);
  });

  it("stops where an observer throws; every observer's finish sees why, in reverse order", async () => {
    const calls: string[] = [];
    await assert.rejects(run(calls, 2), /refused step 2/);
    assert.deepEqual(calls.slice(-5), [
      "a after 1.1/1 size 2",
      "b after 1.1/1 size 2",
      "a check 1.2/2",
      "b finish refused step 2",
      "a finish refused step 2",
    ]);
    assert.ok(!calls.some((c) => c.includes(" end ")));
  });
});
