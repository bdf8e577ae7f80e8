import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import {
  msePerPixel,
  psnr,
  psnrFromMse,
  reconstructionMsePerPixel,
  reconstructionReport,
} from "../lib/metrics/reconstruction";
import { agreement, confidenceSummary } from "../lib/metrics/classification";
import { median, summarize } from "../lib/metrics/summary";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

/** A fake classifier: the label is the image's brightest pixel index modulo 10. */
const argmaxReader = {
  calls: [] as number[],
  read(images: tf.Tensor4D) {
    this.calls.push(images.shape[0]);
    const labels = tf.tidy(() => {
      const n = images.shape[0];
      return tf.mod(tf.argMax(tf.reshape(images, [n, -1]), 1), 10).dataSync() as Int32Array;
    });
    return { labels, confidence: new Float32Array(labels.length).fill(1) };
  },
};

/** Images [n, 1, 4, 4] each with a single lit pixel at index labels[i]. */
function oneHotImages(labels: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.reshape(tf.oneHot(labels, 16), [labels.length, 4, 4, 1]));
}

describe("metrics/reconstruction", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("msePerPixel on hand-made tensors, whatever the batch size", () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7], [2, 1, 2, 2]);
    const y = tf.tensor4d([0, 1, 2, 5, 4, 5, 6, 4], [2, 1, 2, 2]);
    // squared errors: 4 and 9 over 8 pixels.
    for (const b of [1, 2, 1000]) close(msePerPixel(x, y, b), 13 / 8, 1e-12, `batch ${b}`);
    close(msePerPixel(x, x), 0, 0, "identical");
    tf.dispose([x, y]);
  });

  it("msePerPixel matches a direct mean on 10,000 random images batched by 777", () => {
    const x = tf.randomUniform([10000, 1, 5, 5], 0, 1, "float32", 1);
    const y = tf.randomUniform([10000, 1, 5, 5], 0, 1, "float32", 2);
    const direct = tf.tidy(() => tf.mean(tf.squaredDifference(x, y)).dataSync()[0]!);
    close(msePerPixel(x, y, 777), direct, 1e-6, "batched vs direct");
    // Two independent U(0, 1): E[(x - y)^2] = 1/6.
    close(direct, 1 / 6, 3e-3, "expected value");
    tf.dispose([x, y]);
  });

  it("reconstructionMsePerPixel runs the model by batches", () => {
    const x = tf.tensor4d(
      Array.from({ length: 10 * 4 }, (_, i) => (i % 7) / 7),
      [10, 1, 2, 2],
    );
    const batchSizes: number[] = [];
    const zero = (b: tf.Tensor4D): tf.Tensor4D => {
      batchSizes.push(b.shape[0]);
      return tf.zerosLike(b);
    };
    const meanSquare = tf.tidy(() => tf.mean(tf.square(x)).dataSync()[0]!);
    close(reconstructionMsePerPixel(zero, x, 3), meanSquare, 1e-7, "zero model");
    assert.deepEqual(batchSizes, [3, 3, 3, 1]);
    close(
      reconstructionMsePerPixel((b) => tf.clone(b), x),
      0,
      0,
      "identity model",
    );
    const shift = (b: tf.Tensor4D): tf.Tensor4D => tf.add(b, 0.5);
    close(reconstructionMsePerPixel(shift, x, 4), 0.25, 1e-7, "constant shift");
    assert.throws(
      () => reconstructionMsePerPixel((b) => tf.zeros([b.shape[0], 1, 1, 1]), x),
      /reconstruction has shape \[10,1,1,1\], input \[10,1,2,2\]/,
    );
    x.dispose();
  });

  it("psnr: 10 log10(peak^2 / mse)", () => {
    close(psnrFromMse(0.01), 20, 1e-12, "mse 0.01");
    close(psnrFromMse(1, 255), 20 * Math.log10(255), 1e-12, "peak 255");
    assert.equal(psnrFromMse(0), Infinity);
    const x = tf.tensor2d([[0, 0, 0, 0]]);
    const y = tf.tensor2d([[0.1, -0.1, 0.1, -0.1]]);
    close(psnr(x, y), 20, 1e-5, "psnr of +-0.1 errors");
    tf.dispose([x, y]);
    assert.throws(() => psnrFromMse(-1), /mse must be >= 0/);
  });

  it("rejects mismatched shapes and bad batch sizes, and leaks nothing", () => {
    const before = tf.memory().numTensors;
    const x = tf.zeros([4, 1, 2, 2]);
    const y = tf.zeros([4, 2, 1, 2]);
    assert.throws(() => msePerPixel(x, y), /shapes differ, \[4,1,2,2\] vs \[4,2,1,2\]/);
    assert.throws(() => msePerPixel(x, x, 0), /batchSize must be a positive integer/);
    msePerPixel(x, x, 3);
    reconstructionMsePerPixel((b) => tf.mul(b, 2), x as tf.Tensor4D, 3);
    tf.dispose([x, y]);
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });
});

describe("metrics/classification", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("reconstructionReport: the MSE per pixel and the kept rate in one pass by batches", () => {
    const before = tf.memory().numTensors;
    const labels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const images = oneHotImages(labels);
    // Reconstructions: the same digits except at positions 2 and 7 (another pixel lit).
    const changed = oneHotImages([3, 1, 8, 1, 5, 9, 2, 0, 5, 3]);
    // forward returns the changed images of the batch it is given, in order.
    let at = 0;
    const model = {
      forward: (x: tf.Tensor4D) => {
        const y = changed.slice(at, x.shape[0]);
        at += x.shape[0];
        return y;
      },
    };
    argmaxReader.calls = [];
    const r = reconstructionReport(model, { images, labels }, argmaxReader, 4);
    close(r.kept, 8 / 10, 1e-12, "kept rate");
    // Two images differ in two pixels each (1 and 1): 4 / (10 * 16).
    close(r.mse, 4 / 160, 1e-7, "mse");
    assert.deepEqual(argmaxReader.calls, [4, 4, 2]);
    at = 0;
    assert.throws(
      () => reconstructionReport(model, { images, labels: [1, 2] }, argmaxReader),
      /2 labels for 10 images/,
    );
    tf.dispose([images, changed]);
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });

  it("agreement of label arrays", () => {
    close(agreement([1, 2, 3, 4], Int32Array.from([1, 0, 3, 0])), 0.5, 0, "half");
    assert.throws(() => agreement([], []), /non-empty/);
  });

  it("confidenceSummary: mean, median and confident fraction of the max probability", () => {
    const s = confidenceSummary(Float32Array.from([0.95, 0.5, 0.8, 0.99]), 0.9);
    assert.equal(s.n, 4);
    close(s.meanMaxProbability, (0.95 + 0.5 + 0.8 + 0.99) / 4, 1e-7, "mean");
    close(s.medianMaxProbability, (0.8 + 0.95) / 2, 1e-7, "median");
    close(s.confidentFraction, 0.5, 0, "confident fraction");
    assert.throws(
      () => confidenceSummary([2.5, 2.5]),
      /pass probabilities \(softmax\), not logits/,
    );
    assert.throws(() => confidenceSummary([]), /no images/);
  });

  it("summarize: mean, sample standard deviation, median, extremes", () => {
    const s = summarize([4, 1, 3, 2]);
    assert.deepEqual(s, { n: 4, mean: 2.5, std: Math.sqrt(5 / 3), median: 2.5, min: 1, max: 4 });
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(summarize([7]).std, 0);
    assert.throws(() => summarize([]), /no values/);
    assert.throws(() => summarize([1, NaN]), /NaN/);
  });
});
