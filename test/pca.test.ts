import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { meanAndCovariance, symmetricEigen } from "../lib/linalg";
import { PCA } from "../lib/models";
import { msePerPixel } from "../lib/metrics/reconstruction";
import { Rng } from "../lib/random";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>, offA = 0, offB = 0, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[offA + i]! * b[offB + i]!;
  return s;
}

/** A random orthogonal n x n matrix (rows), by Gram-Schmidt on Gaussian rows. */
function randomOrthogonal(n: number, rng: Rng): Float64Array {
  const q = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) q[k * n + i] = rng.normal();
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < k; j++) {
        const p = dot(q, q, k * n, j * n, n);
        for (let i = 0; i < n; i++) q[k * n + i] = q[k * n + i]! - p * q[j * n + i]!;
      }
    }
    const norm = Math.sqrt(dot(q, q, k * n, k * n, n));
    for (let i = 0; i < n; i++) q[k * n + i] = q[k * n + i]! / norm;
  }
  return q;
}

/** Images [n, 1, h, w] with independent Gaussian coordinates of decreasing scale, then rotated. */
function correlatedImages(n: number, h: number, w: number, rng: Rng): tf.Tensor4D {
  const dim = h * w;
  const q = randomOrthogonal(dim, rng);
  const data = new Float32Array(n * dim);
  for (let s = 0; s < n; s++) {
    for (let k = 0; k < dim; k++) {
      const c = rng.normal(0, 2 / (1 + k));
      for (let i = 0; i < dim; i++) data[s * dim + i] = data[s * dim + i]! + c * q[k * dim + i]!;
    }
    for (let i = 0; i < dim; i++) data[s * dim + i] = data[s * dim + i]! + 0.3 + 0.01 * i;
  }
  return tf.tensor4d(data, [n, 1, h, w]);
}

describe("models/pca: symmetricEigen", () => {
  it("2x2 matches the closed form, with the largest-magnitude component positive", () => {
    // [[2, 1], [1, 2]]: eigenvalues 3 and 1, eigenvectors (1, 1)/sqrt2 and (1, -1)/sqrt2 up to sign.
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    close(values[0]!, 3, 1e-14, "lambda1");
    close(values[1]!, 1, 1e-14, "lambda2");
    close(vectors[0]!, Math.SQRT1_2, 1e-14, "v1[0]");
    close(vectors[1]!, Math.SQRT1_2, 1e-14, "v1[1]");
    // Tie in magnitude: the first component is the positive one.
    close(vectors[2]!, Math.SQRT1_2, 1e-14, "v2[0]");
    close(vectors[3]!, -Math.SQRT1_2, 1e-14, "v2[1]");
  });

  it("tridiagonal (2, -1): eigenvalues 2 - 2cos(k pi / (n+1)), eigenvectors sin(j k pi / (n+1))", () => {
    const n = 60;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i > 0) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
    }
    const { values, vectors } = symmetricEigen(a, n);
    for (let r = 0; r < n; r++) {
      const k = n - r; // decreasing order
      close(values[r]!, 2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 1e-12, `lambda ${r}`);
      const exact = Float64Array.from({ length: n }, (_, j) =>
        Math.sin(((j + 1) * k * Math.PI) / (n + 1)),
      );
      const c = dot(exact, vectors, 0, r * n, n) / Math.sqrt(dot(exact, exact));
      close(Math.abs(c), 1, 1e-10, `|cos| eigenvector ${r}`);
    }
  });

  it("recovers a prescribed spectrum Q diag(lambda) Q^T with orthonormal vectors", () => {
    const n = 40;
    const rng = new Rng(7);
    const q = randomOrthogonal(n, rng);
    const lambda = Array.from(
      { length: n },
      (_, k) => (k < 3 ? 5 : 10 / (k + 1)) * (k % 7 === 6 ? -1 : 1),
    );
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[k * n + i]! * lambda[k]! * q[k * n + j]!;
        a[i * n + j] = s;
      }
    }
    const { values, vectors } = symmetricEigen(a, n);
    const sorted = [...lambda].sort((x, y) => y - x);
    sorted.forEach((l, k) => close(values[k]!, l, 1e-12, `lambda ${k}`));
    for (let k = 0; k < n; k++) {
      for (let l = 0; l <= k; l++)
        close(dot(vectors, vectors, k * n, l * n, n), k === l ? 1 : 0, 1e-12, `<v${k}, v${l}>`);
      // A v = lambda v
      for (let i = 0; i < n; i++) {
        close(
          dot(a, vectors, i * n, k * n, n),
          values[k]! * vectors[k * n + i]!,
          1e-12,
          `residual ${k},${i}`,
        );
      }
    }
    // Simple eigenvalue 10/4 (k = 3): its vector is q's row 3 up to sign.
    const r = sorted.indexOf(10 / 4);
    close(Math.abs(dot(vectors, q, r * n, 3 * n, n)), 1, 1e-10, "eigenvector of 2.5");
  });

  it("rejects a wrong size or non-finite entries", () => {
    assert.throws(() => symmetricEigen([1, 2, 3], 2), /expected 2x2/);
    assert.throws(() => symmetricEigen([1, NaN, NaN, 1], 2), /must be finite/);
  });
});

describe("models/pca: PCA", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("finds known directions and variances exactly (Hadamard design)", () => {
    // 8 samples in D = 6: x = m + 3 a u1 + 1 b u2 + 0.1 c u3, with a, b, c orthogonal +-1 columns
    // of the 8x8 Hadamard matrix (zero mean, unit variance): covariance = 9 u1u1' + u2u2' + 0.01 u3u3'.
    const h8 = (i: number, j: number): number => (popcount(i & j) % 2 === 0 ? 1 : -1);
    const rng = new Rng(3);
    const q = randomOrthogonal(6, rng);
    const scales = [3, 1, 0.1];
    const m = [0.5, -1, 2, 0, 0.25, 1];
    const data = new Float32Array(8 * 6);
    for (let s = 0; s < 8; s++) {
      for (let i = 0; i < 6; i++) {
        let v = m[i]!;
        for (let k = 0; k < 3; k++) v += scales[k]! * h8(s, k + 1) * q[k * 6 + i]!;
        data[s * 6 + i] = v;
      }
    }
    const x = tf.tensor4d(data, [8, 1, 2, 3]);
    const pca = PCA.fit(x, 3);
    try {
      const expected = [9, 1, 0.01, 0, 0, 0];
      expected.forEach((l, k) => close(pca.eigenvalues[k]!, l, 1e-5, `eigenvalue ${k}`));
      m.forEach((v, i) => close(pca.mean[i]!, v, 1e-6, `mean ${i}`));
      for (let k = 0; k < 3; k++) {
        close(
          Math.abs(dot(pca.components, q, k * 6, k * 6, 6)),
          1,
          1e-5,
          `|<component ${k}, u${k + 1}>|`,
        );
      }
      // Three directions carry everything: reconstruction is exact.
      const y = pca.forward(x);
      close(msePerPixel(x, y), 0, 1e-10, "mse with all directions");
      y.dispose();
    } finally {
      pca.dispose();
      x.dispose();
    }
  });

  it("PCA identity: reconstruction MSE with d components = (sum of the other eigenvalues) / D", () => {
    const rng = new Rng(11);
    const x = correlatedImages(300, 4, 5, rng);
    const full = PCA.fit(x, 20);
    try {
      // The spectrum accounts for the whole variance: trace(C) = sum of eigenvalues.
      const { covariance, dim } = meanAndCovariance(x);
      let trace = 0;
      for (let i = 0; i < dim; i++) trace += covariance[i * dim + i]!;
      close(full.trainMsePerPixel(0) * dim, trace, 1e-9 * trace, "sum of eigenvalues vs trace");
      let previous = Infinity;
      for (const d of [1, 2, 5, 10, 19]) {
        const pca = full.truncate(d);
        const y = pca.forward(x);
        const mse = msePerPixel(x, y);
        y.dispose();
        const expected = pca.trainMsePerPixel();
        close(mse, expected, 2e-4 * expected, `d = ${d}`);
        assert.ok(mse < previous, `error decreases with d (d = ${d})`);
        previous = mse;
        pca.dispose();
      }
      // All D components: the identity up to float32 round-off.
      const y = full.forward(x);
      close(msePerPixel(x, y), 0, 1e-10, "mse with d = D");
      y.dispose();
    } finally {
      full.dispose();
      x.dispose();
    }
  });

  it("beats a random subspace of the same dimension", () => {
    const rng = new Rng(5);
    const x = correlatedImages(200, 4, 4, rng);
    const pca = PCA.fit(x, 3);
    try {
      const y = pca.forward(x);
      const mse = msePerPixel(x, y);
      y.dispose();
      const q = randomOrthogonal(16, rng);
      const other = tf.tidy(() => {
        const flat = tf.reshape(x, [200, 16]);
        const mean = tf.mean(flat, 0, true);
        const basis = tf.tensor2d(Float32Array.from(q.subarray(0, 3 * 16)), [3, 16]);
        const proj = tf.matMul(tf.matMul(tf.sub(flat, mean), basis, false, true), basis);
        return tf.mean(tf.squaredDifference(tf.add(proj, mean), flat));
      });
      assert.ok(mse < other.dataSync()[0]!, "PCA error below a random 3-d subspace");
      other.dispose();
    } finally {
      pca.dispose();
      x.dispose();
    }
  });

  it("codes of the training set are centred and decorrelated, with the eigenvalues as variances", () => {
    const rng = new Rng(2);
    const x = correlatedImages(400, 3, 3, rng);
    const pca = PCA.fit(x, 4);
    try {
      const z = pca.encode(x);
      const codes = tf.reshape(z, [400, 4]);
      const cov = tf
        .tidy(() => tf.div(tf.matMul(codes, codes, true, false), 400))
        .arraySync() as number[][];
      const mean = tf.tidy(() => tf.mean(codes, 0)).arraySync() as number[];
      mean.forEach((v, k) => close(v, 0, 1e-5, `code mean ${k}`));
      for (let k = 0; k < 4; k++) {
        for (let l = 0; l < 4; l++) {
          const expected = k === l ? pca.eigenvalues[k]! : 0;
          close(cov[k]![l]!, expected, 1e-4 * pca.eigenvalues[0]!, `cov ${k},${l}`);
        }
      }
      tf.dispose([z, codes]);
    } finally {
      pca.dispose();
      x.dispose();
    }
  });

  it("encode/decode shapes on MNIST-sized images, truncation = prefix, no tensor leak", () => {
    const before = tf.memory().numTensors;
    const x = tf.tidy(() => tf.randomUniform([40, 1, 28, 28], 0, 1, "float32", 123) as tf.Tensor4D);
    const full = PCA.fit(x, 8, { batchSize: 16 });
    const small = full.truncate(2);
    try {
      const z = full.encode(x);
      assert.deepEqual(z.shape, [40, 8, 1, 1]);
      const y = full.decode(z);
      assert.deepEqual(y.shape, [40, 1, 28, 28]);
      const z2 = small.encode(x);
      assert.deepEqual(z2.shape, [40, 2, 1, 1]);
      const prefix = tf.slice(z, [0, 0, 0, 0], [40, 2, 1, 1]);
      assert.deepEqual(Array.from(z2.dataSync()), Array.from(prefix.dataSync()));
      assert.deepEqual(
        Array.from(small.components),
        Array.from(full.components.subarray(0, 2 * 784)),
      );
      assert.deepEqual(Array.from(small.eigenvalues), Array.from(full.eigenvalues));
      // Fitting at d = 2 directly gives the same model as the prefix.
      const direct = PCA.fit(x, 2, { batchSize: 16 });
      assert.deepEqual(Array.from(direct.components), Array.from(small.components));
      direct.dispose();
      // decode also takes [N, d] codes.
      const flatCodes = tf.reshape(z2, [40, 2]) as tf.Tensor2D;
      const y2 = small.decode(flatCodes);
      assert.deepEqual(y2.shape, [40, 1, 28, 28]);
      tf.dispose([z, y, z2, prefix, flatCodes, y2]);
      // Orthonormal components.
      for (let k = 0; k < 8; k++) {
        for (let l = 0; l <= k; l++)
          close(
            dot(full.components, full.components, k * 784, l * 784, 784),
            k === l ? 1 : 0,
            1e-10,
            `<c${k},c${l}>`,
          );
      }
    } finally {
      full.dispose();
      small.dispose();
      x.dispose();
    }
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });

  it("is deterministic, with a fixed sign per component", () => {
    const rng = new Rng(9);
    const x = correlatedImages(60, 3, 4, rng);
    const a = PCA.fit(x, 5);
    const b = PCA.fit(x, 5);
    try {
      assert.deepEqual(Array.from(b.components), Array.from(a.components));
      assert.equal(a.d, 5);
      assert.deepEqual([...a.imageShape], [1, 3, 4]);
      assert.equal(a.nSamples, 60);
      const ya = a.forward(x);
      const yb = b.forward(x);
      assert.deepEqual(Array.from(yb.dataSync()), Array.from(ya.dataSync()));
      tf.dispose([ya, yb]);
      // Sign convention: each component's largest-magnitude entry is positive.
      for (let k = 0; k < 5; k++) {
        const row = Array.from(a.components.subarray(k * 12, (k + 1) * 12));
        const big = row.reduce((best, v, i) => (Math.abs(v) > Math.abs(row[best]!) ? i : best), 0);
        assert.ok(row[big]! > 0, `component ${k} sign`);
      }
    } finally {
      tf.dispose([x]);
      a.dispose();
      b.dispose();
    }
  });

  it("rejects bad input with a message saying what is wrong", () => {
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([10, 1, 2, 2], 0, 1, "float32", 1) as tf.Tensor4D;
    const flat = tf.zeros([10, 4]);
    const wrongImages = tf.zeros([3, 1, 3, 3]) as tf.Tensor4D;
    const wrongCodes = tf.zeros([3, 3, 1, 1]) as tf.Tensor4D;
    let pca!: PCA;
    tf.tidy(() => {
      pca = PCA.fit(x, 2); // survives the tidy
    });
    try {
      assert.throws(() => PCA.fit(x, 0), /d must be an integer in \[1, 4\]/);
      assert.throws(() => PCA.fit(x, 5), /d must be an integer in \[1, 4\]/);
      assert.throws(
        () => PCA.fit(flat as unknown as tf.Tensor4D, 2),
        /expected images \[N, C, H, W\]/,
      );
      assert.throws(() => pca.truncate(3), /d must be an integer in \[1, 2\]/);
      assert.throws(() => pca.encode(wrongImages), /expected images \[N, 1, 2, 2\]/);
      assert.throws(() => pca.decode(wrongCodes), /expected codes \[N, 2, 1, 1\]/);
      const y = pca.forward(x);
      assert.deepEqual(y.shape, [10, 1, 2, 2]);
      y.dispose();
      pca.dispose();
      assert.throws(() => pca.encode(x), /used after dispose/);
    } finally {
      pca.dispose();
      tf.dispose([x, flat, wrongImages, wrongCodes]);
    }
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });
});

function popcount(v: number): number {
  let c = 0;
  for (let u = v; u !== 0; u >>= 1) c += u & 1;
  return c;
}
