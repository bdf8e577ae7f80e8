import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import {
  PCA,
  alphaSteps,
  gaussianFit,
  latentInterpolation,
  sampleGaussian,
  type Codec,
} from "../lib/models";
import { Rng } from "../lib/random";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

function rowsOf(t: tf.Tensor, start: number, size: number): tf.Tensor {
  return tf.slice(
    t,
    t.shape.map((_, i) => (i === 0 ? start : 0)),
    t.shape.map((s, i) => (i === 0 ? size : s)),
  );
}

describe("models/latent", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("gaussianFit: exact on a hand-made case, [N, d] and [N, d, 1, 1] alike", () => {
    const codes = tf.tensor2d([
      [0, 1],
      [2, 1],
      [4, 4],
    ]);
    const fit = gaussianFit(codes);
    assert.deepEqual(fit.mean, [2, 2]);
    close(fit.std[0]!, 2, 1e-12, "std 0"); // (4 + 0 + 4) / 2 = 4
    close(fit.std[1]!, Math.sqrt(3), 1e-12, "std 1"); // (1 + 1 + 4) / 2 = 3
    const codes4 = tf.reshape(codes, [3, 2, 1, 1]) as tf.Tensor4D;
    assert.deepEqual(gaussianFit(codes4), fit);
    tf.dispose([codes, codes4]);
    const one = tf.zeros([1, 3]) as tf.Tensor2D;
    assert.throws(() => gaussianFit(one), /N >= 2/);
    one.dispose();
  });

  it("sampleGaussian is seeded, shaped [n, d, 1, 1], and a fit of its samples recovers the model", () => {
    const model = { mean: [1, -2, 0.5], std: [0.5, 2, 0.1] };
    const z = sampleGaussian(model, 20000, new Rng(4));
    assert.deepEqual(z.shape, [20000, 3, 1, 1]);
    const fit = gaussianFit(z);
    model.mean.forEach((m, j) => {
      const s = model.std[j]!;
      // 5 standard errors of the mean and of the std.
      close(fit.mean[j]!, m, (5 * s) / Math.sqrt(20000), `mean ${j}`);
      close(fit.std[j]!, s, (5 * s) / Math.sqrt(2 * 20000), `std ${j}`);
    });
    const again = sampleGaussian(model, 5, new Rng(4));
    const other = sampleGaussian(model, 5, new Rng(5));
    const head = rowsOf(z, 0, 5);
    assert.deepEqual(Array.from(again.dataSync()), Array.from(head.dataSync()));
    assert.notDeepEqual(Array.from(other.dataSync()), Array.from(head.dataSync()));
    tf.dispose([z, again, other, head]);
    assert.throws(() => sampleGaussian(model, 0, new Rng(1)), /n must be a positive integer/);
    assert.throws(
      () => sampleGaussian({ mean: [0, 0], std: [1] }, 2, new Rng(1)),
      /mean has 2 numbers, std 1/,
    );
  });

  it("latentInterpolation: pair-major grid, endpoints g(f(x)) and g(f(x')), midpoint g of the mean code", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(8);
    const train = tf.tensor4d(
      Array.from({ length: 50 * 9 }, () => rng.uniform()),
      [50, 1, 3, 3],
    );
    const pca = PCA.fit(train, 4);
    const encode = (x: tf.Tensor4D): tf.Tensor4D => pca.encode(x);
    // A non-linear decoder, so that a wrong mixing of codes would show.
    const decode = (z: tf.Tensor4D): tf.Tensor4D =>
      tf.tidy(() => tf.sigmoid(tf.mul<tf.Tensor4D>(pca.decode(z), 3)));
    const codec: Codec = { encode, decode, forward: (x) => decode(encode(x)) };
    const x = rowsOf(train, 0, 3) as tf.Tensor4D;
    const xPrime = rowsOf(train, 10, 3) as tf.Tensor4D;
    const alphas = alphaSteps(5);
    assert.deepEqual(alphas, [0, 0.25, 0.5, 0.75, 1]);
    const grid = latentInterpolation(codec, x, xPrime, alphas);
    assert.deepEqual(grid.shape, [15, 1, 3, 3]);
    const atX = tf.tidy(() => decode(encode(x)));
    const atXPrime = tf.tidy(() => decode(encode(xPrime)));
    const mid = tf.tidy(() => decode(tf.div(tf.add(encode(x), encode(xPrime)), 2) as tf.Tensor4D));
    const g = grid.arraySync();
    const a = atX.arraySync();
    const b = atXPrime.arraySync();
    const m = mid.arraySync();
    for (let p = 0; p < 3; p++) {
      assert.deepEqual(g[p * 5], a[p], `pair ${p}, alpha 0 = g(f(x))`);
      assert.deepEqual(g[p * 5 + 4], b[p], `pair ${p}, alpha 1 = g(f(x'))`);
      const flatG = g[p * 5 + 2]!.flat(2);
      const flatM = m[p]!.flat(2);
      flatG.forEach((v, i) => close(v, flatM[i]!, 1e-6, `pair ${p}, alpha 0.5, pixel ${i}`));
    }
    assert.throws(
      () => latentInterpolation(codec, x, train, alphas),
      /x and xPrime must be images \[P, C, H, W\] of one shape/,
    );
    assert.throws(() => latentInterpolation(codec, x, xPrime, []), /non-empty list/);
    tf.dispose([grid, atX, atXPrime, mid, x, xPrime, train]);
    pca.dispose();
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });
});
