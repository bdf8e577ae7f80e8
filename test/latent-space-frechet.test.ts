import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  featureMoments,
  frechetDistance,
  imageFeatureMoments,
  type FeatureMoments,
} from "../lib/metrics/frechet";
import { symmetricEigen } from "../lib/linalg";
import { MnistClassifier } from "../lib/models";
import { Rng } from "../lib/random";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

function moments(mean: number[], covariance: number[]): FeatureMoments {
  return {
    mean: Float64Array.from(mean),
    covariance: Float64Array.from(covariance),
    dim: mean.length,
  };
}

/** A random SPD n x n matrix A A^T / n + eps I. */
function randomSpd(n: number, rng: Rng, eps = 0.1): number[] {
  const a = Array.from({ length: n * n }, () => rng.normal());
  const c: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * a[j * n + k]!;
      c.push(s / n + (i === j ? eps : 0));
    }
  }
  return c;
}

/** R C R^T and R m for a rotation R given row-major. */
function rotate(m: FeatureMoments, r: Float64Array): FeatureMoments {
  const n = m.dim;
  const mean = new Float64Array(n);
  const rc = new Float64Array(n * n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      mean[i] = mean[i]! + r[i * n + k]! * m.mean[k]!;
      for (let j = 0; j < n; j++) {
        rc[i * n + j] = rc[i * n + j]! + r[i * n + k]! * m.covariance[k * n + j]!;
      }
    }
  }
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let k = 0; k < n; k++) out[i * n + j] = out[i * n + j]! + rc[i * n + k]! * r[j * n + k]!;
  return { mean, covariance: out, dim: n };
}

describe("metrics/frechet", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("closed forms: 1-D (m1 - m2)^2 + (s1 - s2)^2, diagonal sums, disjoint supports", () => {
    close(frechetDistance(moments([1], [4]), moments([-1], [1])), 5, 1e-12, "1-D");
    const a = moments([0, 1, 2], [1, 0, 0, 0, 4, 0, 0, 0, 9]);
    const b = moments([0, 0, 0], [4, 0, 0, 0, 4, 0, 0, 0, 1]);
    // (0 + 1 + 4) + (1 - 2)^2 + 0 + (3 - 1)^2
    close(frechetDistance(a, b), 10, 1e-12, "diagonal");
    // Rank-deficient: the mass of one on the x-axis, the other on the y-axis: tr C1 + tr C2.
    close(
      frechetDistance(moments([0, 0], [1, 0, 0, 0]), moments([0, 0], [0, 0, 0, 1])),
      2,
      1e-12,
      "singular",
    );
  });

  it("non-commuting 2 x 2: tr (C1 C2)^(1/2) = sqrt(tr(C1 C2) + 2 sqrt(det C1 det C2))", () => {
    const c1 = [2, 1, 1, 3];
    const c2 = [1, -0.5, -0.5, 2];
    const p = [c1[0]! * c2[0]! + c1[1]! * c2[2]!, 0, 0, c1[2]! * c2[1]! + c1[3]! * c2[3]!];
    const det1 = c1[0]! * c1[3]! - c1[1]! * c1[2]!;
    const det2 = c2[0]! * c2[3]! - c2[1]! * c2[2]!;
    const trSqrt = Math.sqrt(p[0]! + p[3]! + 2 * Math.sqrt(det1 * det2));
    const expected = 1 + 4 + (2 + 3) + (1 + 2) - 2 * trSqrt;
    close(frechetDistance(moments([1, 0], c1), moments([0, 2], c2)), expected, 1e-12, "2 x 2");
  });

  it("properties on random 20-dimensional Gaussians: zero on itself, symmetric, rotation-invariant", () => {
    const rng = new Rng(3);
    const n = 20;
    const a = moments(
      Array.from({ length: n }, () => rng.normal()),
      randomSpd(n, rng),
    );
    const b = moments(
      Array.from({ length: n }, () => rng.normal()),
      randomSpd(n, rng),
    );
    const dab = frechetDistance(a, b);
    assert.ok(dab > 1, `distinct Gaussians: ${dab}`);
    close(frechetDistance(a, a), 0, 1e-9, "d(a, a)");
    close(frechetDistance(b, a), dab, 1e-9 * dab, "symmetry");
    const r = symmetricEigen(randomSpd(n, rng), n).vectors; // rows: an orthonormal basis
    close(frechetDistance(rotate(a, r), rotate(b, r)), dab, 1e-9 * dab, "rotation");
  });

  it("featureMoments of samples: their distance converges to the Gaussians' distance", () => {
    const rng = new Rng(8);
    const n = 20000;
    // x ~ N((0, 0), diag(1, 1)); y = (x1 + 1, x1 / 2 + x2) ~ N((1, 0), [[1, .5], [.5, 1.25]]).
    const x = new Float32Array(2 * n);
    const y = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [u, v] = [rng.normal(), rng.normal()];
      x[2 * i] = rng.normal();
      x[2 * i + 1] = rng.normal();
      y[2 * i] = u + 1;
      y[2 * i + 1] = u / 2 + v;
    }
    const [fx, fy] = [tf.tensor2d(x, [n, 2]), tf.tensor2d(y, [n, 2])];
    const exact = frechetDistance(
      moments([0, 0], [1, 0, 0, 1]),
      moments([1, 0], [1, 0.5, 0.5, 1.25]),
    );
    close(frechetDistance(featureMoments(fx), featureMoments(fy)), exact, 0.05, "sampled");
    const one = tf.zeros([1, 2]) as tf.Tensor2D;
    assert.throws(() => featureMoments(one), /N >= 2/);
    assert.throws(
      () => frechetDistance(featureMoments(fx), moments([0], [1])),
      /dimensions differ/,
    );
    tf.dispose([fx, fy, one]);
  });

  it("MnistClassifier.features: the penultimate layer, whose last Linear gives the logits", () => {
    const clf = new MnistClassifier({ nbChannels: 4, nbHidden: 16, seed: 0 });
    const x = tf.randomUniform([5, 1, 28, 28], 0, 1, "float32", 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const f = clf.features(x, 2);
      assert.deepEqual(f.shape, [5, 16]);
      assert.ok(tf.min(f).dataSync()[0]! >= 0, "after the ReLU");
      const logits = clf.net.layers.at(-1)!.forward(f);
      const diff = tf.max(tf.abs(tf.sub(logits, clf.forward(x)))).dataSync()[0]!;
      assert.ok(diff < 1e-5, `logits from the features differ by ${diff}`);
    });
    assert.equal(tf.memory().numTensors, before);
    // Moments of the features, which are freed.
    const f = clf.features(x);
    const direct = featureMoments(f);
    f.dispose();
    assert.deepEqual(
      imageFeatureMoments((b) => clf.features(b), x),
      direct,
    );
    assert.equal(tf.memory().numTensors, before);
    const nhwc = tf.zeros([1, 28, 28, 1]) as tf.Tensor4D;
    assert.throws(() => clf.features(nhwc), /\[N, 1, 28, 28\]/);
    tf.dispose([x, nhwc]);
    clf.dispose();
  });
});
