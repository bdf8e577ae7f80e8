import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  ksCriticalValue,
  ksDistance,
  latentStatistics,
  normalCdf,
} from "../lib/metrics/latent-space";
import { Rng } from "../lib/random";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

/** Phi^-1 by bisection on normalCdf (for the tests' exact samples). */
function normalQuantile(p: number): number {
  let lo = -9;
  let hi = 9;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** n x d codes, column j drawn by draw(j). */
function codes(n: number, d: number, draw: (j: number) => number): tf.Tensor2D {
  const v = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) v[i * d + j] = draw(j);
  return tf.tensor2d(v, [n, d]);
}

describe("metrics/latent-space", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("normalCdf: reference values to 1e-14, symmetry, location and scale", () => {
    // 0.5 * erfc(-x / sqrt 2), Python's math.erfc
    const cases: [number, number][] = [
      [0, 0.5],
      [1, 0.8413447460685429],
      [-1.96, 0.024997895148220435],
      [3, 0.9986501019683699],
      [-5, 2.866515718791946e-7],
      [7.5, 0.9999999999999681],
    ];
    for (const [x, p] of cases) close(normalCdf(x), p, 1e-14, `Phi(${x})`);
    for (const x of [-4.2, -0.3, 0.7, 2.5])
      close(normalCdf(x) + normalCdf(-x), 1, 1e-15, `sym ${x}`);
    close(normalCdf(5, 3, 2), normalCdf(1), 1e-15, "N(3, 4) at 5");
    assert.equal(normalCdf(-20), 0);
    assert.equal(normalCdf(20), 1);
    assert.throws(() => normalCdf(0, 0, 0), /std must be > 0/);
  });

  it("ksDistance: known answers", () => {
    // One point at 0 against N(0, 1): F_n jumps 0 -> 1 where Phi = 1/2.
    assert.equal(
      ksDistance([0], (x) => normalCdf(x)),
      0.5,
    );
    // The n quantiles Phi^-1((i - 1/2) / n): the empirical cdf misses Phi by exactly 1 / 2n.
    const n = 200;
    const q = Array.from({ length: n }, (_, i) => normalQuantile((i + 0.5) / n));
    close(
      ksDistance(q, (x) => normalCdf(x)),
      1 / (2 * n),
      1e-12,
      "quantiles",
    );
    // The same points shifted by 0.5: sup |Phi(x) - Phi(x - 0.5)| = Phi(0.25) - Phi(-0.25), up to 1/n.
    const shifted = q.map((x) => x + 0.5);
    const exact = normalCdf(0.25) - normalCdf(-0.25);
    close(
      ksDistance(shifted, (x) => normalCdf(x)),
      exact,
      1 / n,
      "shift 0.5",
    );
    // Order and ties do not matter; the cdf of a point mass at 1 against a sample {0, 2}: 1/2.
    assert.equal(
      ksDistance([2, 0], (x) => (x >= 1 ? 1 : 0)),
      0.5,
    );
    assert.throws(() => ksDistance([], normalCdf), /empty/);
  });

  it("ksCriticalValue: Kolmogorov's 1.358 / sqrt(n) at 5%, 1.628 at 1%", () => {
    close(ksCriticalValue(10000), 0.013581, 1e-6, "5%");
    close(ksCriticalValue(100, 0.01), 0.16276, 1e-5, "1%");
    assert.throws(() => ksCriticalValue(0), /n must be >= 1/);
  });

  it("latentStatistics: N(0, 1), N(3, 4) and uniform codes are told apart", () => {
    const rng = new Rng(11);
    const n = 20000;
    const z = codes(n, 3, (j) =>
      j === 0 ? rng.normal() : j === 1 ? rng.normal(3, 2) : rng.uniform(-1, 1),
    );
    const [a, b, c] = latentStatistics(z) as [
      ReturnType<typeof latentStatistics>[number],
      ReturnType<typeof latentStatistics>[number],
      ReturnType<typeof latentStatistics>[number],
    ];
    const se = 5 / Math.sqrt(n);
    // N(0, 1): near 0 and 1, both KS distances below the 1% critical value (fixed seed).
    close(a.mean, 0, se, "mean 0");
    close(a.std, 1, se, "std 0");
    assert.ok(a.ksStandardNormal < ksCriticalValue(n, 0.01), `ks ${a.ksStandardNormal}`);
    assert.ok(a.ksFittedNormal < ksCriticalValue(n, 0.01), `ks fit ${a.ksFittedNormal}`);
    // N(3, 4): far from N(0, 1) (sup |Phi(x) - Phi((x - 3) / 2)| = 0.6915 at x = -3), normal in shape.
    close(b.mean, 3, 2 * se, "mean 1");
    close(b.std, 2, 2 * se, "std 1");
    const far = Math.max(
      ...Array.from({ length: 2001 }, (_, i) => -10 + i / 100).map(
        (x) => normalCdf(x) - normalCdf(x, 3, 2),
      ),
    );
    close(b.ksStandardNormal, far, 2 / Math.sqrt(n), "ks N(3, 4)");
    assert.ok(b.ksFittedNormal < ksCriticalValue(n, 0.01), `ks fit 1 ${b.ksFittedNormal}`);
    // U(-1, 1) against its fitted normal N(0, 1/3): sup |F_U - Phi(x sqrt 3)| over a fine grid.
    const s = 1 / Math.sqrt(3);
    const uniformKs = Math.max(
      ...Array.from({ length: 2001 }, (_, i) => -1 + i / 1000).map((x) =>
        Math.abs((x + 1) / 2 - normalCdf(x, 0, s)),
      ),
      normalCdf(-1, 0, s),
    );
    close(c.std, s, se, "std 2");
    close(c.ksFittedNormal, uniformKs, 2 / Math.sqrt(n), "ks uniform vs fitted normal");
    assert.ok(c.ksFittedNormal > 5 * ksCriticalValue(n), "the uniform is not normal");
    assert.deepEqual([a.dim, b.dim, c.dim], [0, 1, 2]);
    z.dispose();
  });

  it("latentStatistics: [N, d, 1, 1] as [N, d]; exact on a small case; clear errors", () => {
    const z = tf.tensor2d([
      [0, 1],
      [2, 1],
      [4, 4],
    ]);
    const z4 = tf.reshape(z, [3, 2, 1, 1]) as tf.Tensor4D;
    const s = latentStatistics(z);
    assert.deepEqual(latentStatistics(z4), s);
    assert.equal(s[0]?.mean, 2);
    close(s[0]?.std as number, 2, 1e-12, "std");
    close(s[1]?.std as number, Math.sqrt(3), 1e-12, "std 1");
    const nhwc = tf.zeros([3, 1, 1, 2]);
    assert.throws(() => latentStatistics(nhwc), /\[N, d\] or \[N, d, 1, 1\]/);
    const constant = tf.ones([4, 1]);
    assert.ok(Number.isNaN(latentStatistics(constant)[0]?.ksFittedNormal));
    const bad = tf.tensor2d([[0], [NaN]]);
    assert.throws(() => latentStatistics(bad), /code 1, dimension 0 is NaN/);
    tf.dispose([z, z4, nhwc, constant, bad]);
  });
});
