import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Linear, ReLU, Sequential } from "../lib/nn";
import {
  AutoEncoder,
  EncoderDecoder,
  MnistClassifier,
  lectureDecoder,
  lectureEncoder,
} from "../lib/models";
import { Rng } from "../lib/random";
import {
  classificationLoss,
  crossEntropy,
  halfSumSquaredError,
  meanAbsoluteError,
  meanSquaredError,
  reconstructionLoss,
  sumSquaredError,
  type LossFn,
} from "../lib/training/losses";
import { vaeKl, vaeLoss } from "../lib/models/vae";
import { type LogRow, train, type Transform } from "../lib/training/train";
import { blobs } from "./helpers/blobs";

/** The lecture's 2-d denoising toy (7.3): points on a circle with an opening. */
function openCircle(n: number, rng: Rng): tf.Tensor2D {
  const data = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const a = (rng.uniform(0.25, 1.75) * Math.PI) as number;
    data[2 * i] = Math.cos(a);
    data[2 * i + 1] = Math.sin(a);
  }
  return tf.tensor2d(data, [n, 2]);
}

const gaussianNoise =
  (std: number): Transform =>
  (x, ctx) =>
    tf.add(x, tf.randomNormal(x.shape, 0, std, "float32", ctx.seed()));

function mlp(seed: number): Sequential {
  const rng = Rng.stream("test/mlp", seed);
  return new Sequential(new Linear(2, 100, { rng }), new ReLU(), new Linear(100, 2, { rng }));
}

describe("training", function () {
  this.timeout(60000);
  let images: tf.Tensor4D;
  let testImages: tf.Tensor4D;

  before(async () => {
    await initBackend({ quiet: true });
    const rng = Rng.stream("test/training/data");
    images = blobs(240, rng);
    testImages = blobs(60, rng);
  });

  after(() => tf.dispose([images, testImages]));

  describe("losses", () => {
    it("compute the lecture's formulas on a known case", () => {
      const out = tf.tensor4d([1, 2, 3, 4, 0, 0, 0, 0], [2, 1, 2, 2]);
      const tgt = tf.tensor4d([0, 2, 3, 6, 1, 0, 0, -1], [2, 1, 2, 2]);
      // squared errors: 1, 0, 0, 4 | 1, 0, 0, 1 -> sum 7 over N = 2 images
      const near = (t: tf.Scalar, v: number): void => {
        assert.ok(Math.abs(t.dataSync()[0]! - v) < 1e-6, `${t.dataSync()[0]} vs ${v}`);
        t.dispose();
      };
      near(halfSumSquaredError(out, tgt), (0.5 * 7) / 2);
      near(sumSquaredError(out, tgt), 7 / 2);
      near(meanSquaredError(out, tgt), 7 / 8);
      near(meanAbsoluteError(out, tgt), 5 / 8);
      assert.throws(() => halfSumSquaredError(out, tf.zeros([2, 2, 2, 2])), /same shape/);
      // KL(N(mu, s^2) || N(0, 1)) = 0.5 (mu^2 + s^2 - 1 - log s^2), summed, / N.
      const mu = tf.tensor4d([0.5, -1, 0, 2], [2, 2, 1, 1]);
      const logvar = tf.tensor4d([0, Math.log(2), -1, 0.5], [2, 2, 1, 1]);
      const kl = (m: number, lv: number): number => 0.5 * (m * m + Math.exp(lv) - 1 - lv);
      near(
        vaeKl(mu, logvar).total,
        (kl(0.5, 0) + kl(-1, Math.log(2)) + kl(0, -1) + kl(2, 0.5)) / 2,
      );
      const logits = tf.tensor2d([
        [2, 0, 0],
        [0, 0, 3],
      ]);
      const labels = tf.tensor1d([0, 1], "int32");
      const lse = (a: number[]): number => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
      near(crossEntropy(logits, labels), (lse([2, 0, 0]) - 2 + lse([0, 0, 3]) - 0) / 2);
      tf.dispose([out, tgt, mu, logvar, logits, labels]);
    });
  });

  it("lowers the lecture's AE loss on tiny synthetic data, logs train and test per epoch", async () => {
    const ae = new AutoEncoder({ embeddingDim: 2, nbChannels: 8, seed: 1 });
    // What a model that ignores its input can do at best: output the mean training image.
    const meanImage = tf.tidy(
      () =>
        halfSumSquaredError(
          tf.broadcastTo(tf.mean(images, 0, true), testImages.shape),
          testImages,
        ).dataSync()[0]!,
    );
    const r = await train({
      model: ae,
      loss: reconstructionLoss(halfSumSquaredError, { mse: meanSquaredError }),
      train: { inputs: images },
      test: { inputs: testImages },
      epochs: 6,
      batchSize: 10,
      learningRate: 3e-3,
      progress: false,
    });
    assert.deepEqual(r.log.columns, [
      "epoch",
      "steps",
      "train_loss",
      "train_mse",
      "test_loss",
      "test_mse",
      "seconds",
      "images_per_s",
    ]);
    // The lecture's 0.5 * sum / N against the mean over 784 pixels.
    for (const row of r.log.toRecords() as LogRow[]) {
      assert.ok(Math.abs(row.test_mse! - (2 * row.test_loss!) / 784) < 1e-6);
    }
    assert.deepEqual(r.log.getColumn("epoch").toArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(r.log.getColumn("steps").toArray(), [24, 48, 72, 96, 120, 144]);
    assert.equal(r.steps, 144);
    const test = r.log.getColumn("test_loss").toArray() as number[];
    assert.ok(
      test[5]! < 0.7 * meanImage,
      `test loss ${test.join(", ")} vs mean image ${meanImage}`,
    );
    assert.ok(test[5]! < test[0]!, `test loss should fall: ${test.join(", ")}`);
    assert.ok(r.imagesPerSecond > 0);
    // The step log: 144 steps, one row every ceil(144 / 100) = 2 steps, epochs as fractions.
    assert.deepEqual(r.history.columns, ["step", "epoch", "train_loss", "train_mse"]);
    const steps = r.history.getColumn("step").toArray() as number[];
    assert.equal(steps.length, 72);
    assert.deepEqual(steps.slice(0, 3), [2, 4, 6]);
    assert.deepEqual(r.history.getColumn("epoch").toArray().slice(11, 13), [1, 13 / 12]);
    ae.dispose();
  });

  it("7.3's 2-d denoiser: corrupted inputs, clean targets, MSE; seeded, so reproducible", async () => {
    const rng = Rng.stream("test/circle");
    const points = openCircle(400, rng);
    const run = async (seed: number): Promise<number[]> => {
      const model = mlp(seed);
      const r = await train({
        model,
        loss: reconstructionLoss(meanSquaredError),
        train: { inputs: points },
        test: { inputs: points },
        inputTransform: gaussianNoise(0.1),
        epochs: 4,
        batchSize: 100,
        learningRate: 1e-2,
        seed,
        progress: false,
      });
      model.dispose();
      return r.log.getColumn("test_loss").toArray() as number[];
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.deepEqual(a, b, "same seed, same numbers");
    assert.notDeepEqual(a, c);
    assert.ok(a[3]! < 0.05, `denoising MSE after 4 epochs ${a.join(", ")}`);
    points.dispose();
  });

  it("transforms see training and test contexts; test draws repeat every epoch (Noise2Noise, L1)", async () => {
    const model = mlp(1);
    const points = openCircle(200, Rng.stream("test/n2n"));
    const seen: string[] = [];
    const testSeeds: number[][] = [[], []];
    const noisyTarget: Transform = (x, ctx) => {
      seen.push(ctx.training ? "train" : "test");
      const s = ctx.seed();
      if (!ctx.training) testSeeds[ctx.epoch - 1]!.push(s);
      // Noise2Noise: noisy targets when training, clean ones to measure.
      return ctx.training ? tf.add(x, tf.randomNormal(x.shape, 0, 0.2, "float32", s)) : x;
    };
    const r = await train({
      model,
      loss: reconstructionLoss(meanAbsoluteError),
      train: { inputs: points },
      test: { inputs: points.slice(0, 50) },
      inputTransform: gaussianNoise(0.2),
      targetTransform: noisyTarget,
      epochs: 2,
      batchSize: 50,
      evalBatchSize: 25,
      progress: false,
    });
    assert.equal(seen.filter((s) => s === "train").length, 8);
    assert.equal(seen.filter((s) => s === "test").length, 4);
    assert.deepEqual(testSeeds[0], testSeeds[1]);
    const rows = r.log.toRecords() as LogRow[];
    assert.ok(rows[1]!.test_loss! < rows[0]!.test_loss! * 1.5);
    model.dispose();
    points.dispose();
  });

  it("logs a VAE's kl and fit terms on train and test; loss = beta * kl + fit", async () => {
    for (const beta of [1, 4]) {
      const rng = Rng.stream("test/vae");
      const d = 2;
      const net = new EncoderDecoder(
        "VAE",
        lectureEncoder({ nbChannels: 4, outChannels: 2 * d, rng }),
        lectureDecoder({ nbChannels: 4, inChannels: d, rng }),
        [1, 28, 28],
        { model: "vae" },
      );
      // What vaeLoss needs: the encoder's raw 2d channels, and the decoder.
      const vae = {
        parameters: () => net.parameters(),
        encodeParams: (x: tf.Tensor4D) => net.encoder.forward(x) as tf.Tensor4D,
        decode: (z: tf.Tensor4D) => net.decode(z),
      };
      const r = await train({
        model: vae,
        loss: vaeLoss({ beta }),
        train: { inputs: images },
        test: { inputs: testImages },
        epochs: 1,
        batchSize: 40,
        progress: false,
      });
      assert.deepEqual(r.log.columns, [
        "epoch",
        "steps",
        "train_loss",
        "train_kl",
        "train_fit",
        "test_loss",
        "test_kl",
        "test_fit",
        "seconds",
        "images_per_s",
      ]);
      const row = (r.log.toRecords() as LogRow[])[0]!;
      for (const split of ["train", "test"]) {
        const loss = row[`${split}_loss`]!;
        const kl = row[`${split}_kl`]!;
        const fit = row[`${split}_fit`]!;
        assert.ok(kl > 0 && fit > 0);
        assert.ok(
          Math.abs(loss - (beta * kl + fit)) < 1e-3 * loss,
          `${split}: ${loss} vs ${beta}*${kl}+${fit}`,
        );
      }
      net.dispose();
    }
  });

  it("trains a classifier with cross-entropy and logs its error rate", async () => {
    // Two classes: a vertical or a horizontal bar at a random place.
    const rng = Rng.stream("test/bars");
    const n = 200;
    const data = new Float32Array(n * 784);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.int(2);
      const p = 4 + rng.int(20);
      for (let t = 4; t < 24; t++) data[i * 784 + (labels[i] ? p * 28 + t : t * 28 + p)] = 1;
    }
    const x = tf.tensor4d(data, [n, 1, 28, 28]);
    const y = tf.tensor1d(labels, "int32");
    const clf = new MnistClassifier({ nbChannels: 4, nbHidden: 16, nbClasses: 2, seed: 0 });
    const r = await train({
      model: clf,
      loss: classificationLoss(),
      train: { inputs: x, targets: y },
      test: { inputs: x, targets: y },
      epochs: 2,
      batchSize: 10,
      learningRate: 3e-3,
      progress: false,
    });
    const last = (r.log.toRecords() as LogRow[])[1]!;
    assert.ok(last.test_error! < 0.1, `test error ${last.test_error}`);
    const predicted = clf.predict(x);
    const wrong = predicted.filter((k, i) => k !== labels[i]).length / n;
    assert.ok(Math.abs(wrong - last.test_error!) < 1e-9);
    tf.dispose([x, y]);
    clf.dispose();
  });

  it("stops on a NaN loss naming epoch and step, before touching the parameters, without leaking", async () => {
    const model = mlp(2);
    const points = openCircle(100, Rng.stream("test/nan"));
    let snapshot: number[] = [];
    const poisoned: LossFn<Sequential> = (m, input, target, ctx) => {
      const loss = meanSquaredError(m.forward(input), target);
      if (ctx.training && ctx.epoch === 2 && ctx.step === 3) {
        snapshot = Array.from(m.parameters()[0]!.dataSync());
        return { loss: tf.mul(loss, NaN) as tf.Scalar };
      }
      return { loss };
    };
    const before = tf.memory().numTensors;
    await assert.rejects(
      train({
        model,
        loss: poisoned,
        train: { inputs: points },
        epochs: 3,
        batchSize: 20,
        progress: false,
      }),
      /loss = NaN at epoch 2, step 3 \(step 8 overall\)/,
    );
    assert.deepEqual(Array.from(model.parameters()[0]!.dataSync()), snapshot);
    assert.equal(tf.memory().numTensors, before, "tensors left behind after the error");
    model.dispose();
    points.dispose();
  });

  it("stops on a finite loss with a NaN gradient, before the parameters change (issue 14, item 6)", async () => {
    const model = mlp(2);
    const points = openCircle(100, Rng.stream("test/nan-grad"));
    let snapshot: number[] = [];
    // sqrt(0) is 0 but its gradient is infinite: the loss stays finite, the step would not.
    const poisoned: LossFn<Sequential> = (m, input, target, ctx) => {
      const loss = meanSquaredError(m.forward(input), target);
      if (ctx.training && ctx.epoch === 1 && ctx.step === 4) {
        snapshot = Array.from(m.parameters()[0]!.dataSync());
        const zero = tf.mul(0, tf.sum(m.forward(input)));
        return { loss: tf.add(loss, tf.sqrt(zero)) as tf.Scalar };
      }
      return { loss };
    };
    const before = tf.memory().numTensors;
    await assert.rejects(
      train({ model, loss: poisoned, train: { inputs: points }, batchSize: 20, progress: false }),
      /gradient squared norm = (NaN|Infinity) at epoch 1, step 4/,
    );
    assert.deepEqual(Array.from(model.parameters()[0]!.dataSync()), snapshot);
    assert.equal(tf.memory().numTensors, before, "tensors left behind after the error");
    for (const lr of [0, -1e-3, NaN, Infinity]) {
      await assert.rejects(
        train({
          model,
          loss: poisoned,
          train: { inputs: points },
          learningRate: lr,
          progress: false,
        }),
        /learningRate must be a positive finite number/,
      );
    }
    model.dispose();
    points.dispose();
  });

  it("keeps tf.memory().numTensors flat across steps and returns to it after training", async () => {
    const model = mlp(3);
    const points = openCircle(200, Rng.stream("test/leak"));
    const counts: number[] = [];
    const counting: LossFn<Sequential> = (m, input, target, ctx) => {
      if (ctx.training) counts.push(tf.memory().numTensors);
      return {
        loss: meanSquaredError(m.forward(input), target),
        terms: { l1: meanAbsoluteError(m.forward(input), target) },
      };
    };
    const before = tf.memory().numTensors;
    await train({
      model,
      loss: counting,
      train: { inputs: points },
      test: { inputs: points },
      inputTransform: gaussianNoise(0.1),
      epochs: 2,
      batchSize: 20,
      progress: false,
    });
    assert.equal(counts.length, 20);
    // From the second step on (Adam's moments exist), every step starts with the same count.
    assert.deepEqual(new Set(counts.slice(1)).size, 1, `counts ${counts.join(",")}`);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
    points.dispose();
  });

  it("rejects bad options with a clear message", async () => {
    const model = mlp(4);
    const pts = openCircle(10, Rng.stream("x"));
    const loss = reconstructionLoss(meanSquaredError);
    await assert.rejects(
      train({ model, loss, train: { inputs: pts }, batchSize: 0, progress: false }),
      /batchSize/,
    );
    await assert.rejects(
      train({ model, loss, train: { inputs: pts, targets: pts.slice(0, 5) }, progress: false }),
      /10 inputs but 5 targets/,
    );
    let calls = 0;
    const fickle: LossFn<Sequential> = (m, input, target) => {
      const l = meanSquaredError(m.forward(input), target);
      return calls++ === 0 ? { loss: l, terms: { extra: l } } : { loss: l };
    };
    await assert.rejects(
      train({ model, loss: fickle, train: { inputs: pts }, batchSize: 5, progress: false }),
      /no term "extra" at epoch 1, step 2/,
    );
    model.dispose();
    pts.dispose();
  });

  it("takes torch.optim.Adam's first step by default: -1e-3 * g / (|g| + 1e-8)", async () => {
    const model = mlp(7);
    const pts = openCircle(50, Rng.stream("adam"));
    const loss = reconstructionLoss(meanSquaredError);
    const before = model.parameters().map((v) => Array.from(v.dataSync()));
    const { grads } = tf.variableGrads(
      () => meanSquaredError(model.forward(pts), pts),
      model.parameters(),
    );
    const g = Object.values(grads).map((t) => Array.from(t.dataSync()));
    tf.dispose(Object.values(grads));
    await train({
      model,
      loss,
      train: { inputs: pts },
      batchSize: 50,
      shuffle: false,
      progress: false,
    });
    model.parameters().forEach((v, i) => {
      const after = v.dataSync();
      after.forEach((a, j) => {
        const gj = g[i]![j]!;
        const expected = before[i]![j]! - (1e-3 * gj) / (Math.abs(gj) + 1e-8);
        assert.ok(Math.abs(a - expected) < 2e-6, `param ${i}[${j}]: ${a} vs ${expected}`);
      });
    });
    model.dispose();
    pts.dispose();
  });

  it("maxSteps cuts training short and logs the partial epoch", async () => {
    const model = mlp(5);
    const pts = openCircle(100, Rng.stream("y"));
    const r = await train({
      model,
      loss: reconstructionLoss(meanSquaredError),
      train: { inputs: pts },
      epochs: 5,
      batchSize: 20,
      maxSteps: 7,
      progress: false,
    });
    assert.equal(r.steps, 7);
    assert.deepEqual(r.log.getColumn("steps").toArray(), [5, 7]);
    model.dispose();
    pts.dispose();
  });
});
