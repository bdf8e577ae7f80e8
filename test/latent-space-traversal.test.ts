import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  concentration,
  factorReference,
  giniImpurity,
  traversalEffects,
  withinGroupVariance,
} from "../lib/metrics/disentanglement";
import { strokeStatistics } from "../lib/metrics/stroke";
import { latentTraversal } from "../lib/models/traversal";
import { Rng } from "../lib/random";

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

const S = 12;

/** One 1 x S x S image with ink `v` at the given (x, y) pixels. */
function image(pixels: [number, number][], v = 1): Float32Array {
  const out = new Float32Array(S * S);
  for (const [x, y] of pixels) out[y * S + x] = v;
  return out;
}

function batch(images: Float32Array[]): tf.Tensor4D {
  const out = new Float32Array(images.length * S * S);
  images.forEach((im, i) => out.set(im, i * S * S));
  return tf.tensor4d(out, [images.length, 1, S, S]);
}

const range = (a: number, b: number): number[] =>
  Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** A reader (what the measuring classifier gives) from a labelling function. */
const readerOf = (classify: (x: tf.Tensor4D) => Int32Array) => ({
  read: (x: tf.Tensor4D) => {
    const labels = classify(x);
    return { labels, confidence: new Float32Array(labels.length).fill(1) };
  },
});

describe("metrics/stroke", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("strokeStatistics: exact on a point, a vertical bar, a 45° line, a sheared block, an empty image", () => {
    const point = image([[3, 5]], 0.5);
    const bar = image(range(4, 10).map((y) => [6, y]));
    const up = image(range(2, 9).map((y) => [11 - y, y])); // x grows going up: "/"
    const down = image(range(2, 9).map((y) => [y, y])); // "\"
    // Columns 2..4 shifted right by one per row going up: slant 1, width that of {2, 3, 4}.
    const block = image(
      range(1, 7).flatMap((y) => [0, 1, 2].map((u) => [2 + u + (7 - y), y] as [number, number])),
    );
    const x = batch([point, bar, up, down, block, new Float32Array(S * S)]);
    const s = strokeStatistics(x);
    assert.deepEqual(Array.from(s.ink), [0.5, 7, 8, 8, 21, 0]);
    assert.deepEqual(Array.from(s.slant).slice(0, 2), [0, 0]);
    close(s.slant[2]!, 1, 1e-12, "slant /");
    close(s.slant[3]!, -1, 1e-12, "slant \\");
    close(s.slant[4]!, 1, 1e-12, "slant block");
    close(s.width[1]!, 0, 1e-12, "bar width");
    close(s.width[2]!, 0, 1e-7, "line width");
    close(s.width[4]!, Math.sqrt(2 / 3), 1e-12, "block width, deskewed");
    close(s.height[1]!, 2, 1e-12, "bar height: std of 7 rows"); // (49 - 1) / 12 = 4
    assert.deepEqual(
      [s.width[0], s.height[0], s.slant[5], s.width[5], s.height[5]],
      [0, 0, 0, 0, 0],
    );
    x.dispose();
  });

  it("strokeStatistics: ink scales with intensity, the shape statistics do not; NHWC is refused", () => {
    const block = image(
      range(1, 7).flatMap((y) => [0, 1].map((u) => [3 + u + (7 - y) / 2, y] as [number, number])),
    );
    const x = batch([block, block.map((v) => 0.25 * v)]);
    const s = strokeStatistics(x);
    close(s.ink[1]!, 0.25 * s.ink[0]!, 1e-12, "ink");
    for (const k of ["slant", "width", "height"] as const) close(s[k][1]!, s[k][0]!, 1e-12, k);
    const nhwc = tf.zeros([2, S, S, 1]) as tf.Tensor4D;
    assert.throws(() => strokeStatistics(nhwc), /\[N, 1, H, W\]/);
    tf.dispose([x, nhwc]);
  });
});

describe("models/traversal", () => {
  it("latentTraversal: base-major, then dimension, then value; nothing leaks", () => {
    const codes = tf.tensor4d([1, 2, 3, 4, 5, 6], [2, 3, 1, 1]);
    // "Decode" a code into a 1 x 1 x d image of its values.
    const decode = (z: tf.Tensor4D) => tf.reshape(z, [z.shape[0], 1, 1, z.shape[1]]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const out = latentTraversal(decode, codes, [2, 0], [-1, 0, 1]);
    assert.deepEqual(out.shape, [12, 1, 1, 3]);
    assert.deepEqual(
      Array.from(out.dataSync()),
      [
        [1, 2, -1],
        [1, 2, 0],
        [1, 2, 1],
        [-1, 2, 3],
        [0, 2, 3],
        [1, 2, 3],
        [4, 5, -1],
        [4, 5, 0],
        [4, 5, 1],
        [-1, 5, 6],
        [0, 5, 6],
        [1, 5, 6],
      ].flat(),
    );
    out.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.throws(
      () => latentTraversal(decode, codes, [3], [0]),
      /dims must be indices in \[0, 3\)/,
    );
    const nhwc = tf.zeros([2, 1, 1, 3]) as tf.Tensor4D;
    assert.throws(() => latentTraversal(decode, nhwc, [0], [0]), /\[B, d, 1, 1\]/);
    tf.dispose([codes, nhwc]);
  });
});

describe("metrics/disentanglement", () => {
  it("giniImpurity, withinGroupVariance and concentration on hand-computed cases", () => {
    assert.equal(giniImpurity([1, 1, 2, 2]), 0.5);
    assert.equal(giniImpurity([3, 3, 3]), 0);
    close(giniImpurity(range(0, 9)), 0.9, 1e-15, "ten classes");
    // Groups {1, 3} and {10, 14}: deviations 1, 1, 2, 2.
    assert.equal(withinGroupVariance([1, 3, 10, 14], [0, 0, 1, 1]), 2.5);
    assert.equal(withinGroupVariance([1, 3, 10, 14], [0, 0, 0, 0]), 27.5);
    assert.equal(concentration([2, 0, 0, 0, 0]), 1);
    close(concentration([1, 1, 1, 1, 1]), 0, 1e-15, "equal effects");
    close(concentration([3, 3, 0, 0, 0]), 1 - Math.log(2) / Math.log(5), 1e-15, "two of five");
    assert.ok(Number.isNaN(concentration([0, 0, 0, 0, 0])));
    assert.throws(() => concentration([1, -1]), />= 0/);
  });

  /**
   * A synthetic "decoder" with known factors: z0 scales the intensity (ink only), z1 picks the
   * digit (a bar, labelled 1, for z1 >= 0; an L, labelled 0, otherwise), z2 is ignored, z3 shears
   * the shape by round(z3) pixels per 4 rows and scales the intensity with it (ink and slant), z4
   * shortens the stroke by round(z4) rows (0 to 2; the reference's height varies within a digit).
   * The classifier reads the pixel that only the L has, whatever its intensity.
   */
  function decodeSynthetic(z: tf.Tensor4D): tf.Tensor4D {
    const [m, d] = z.shape;
    const v = z.dataSync();
    const images: Float32Array[] = [];
    for (let i = 0; i < m; i++) {
      const [z0, z1, , z3, z4] = Array.from(v.subarray(i * d, (i + 1) * d));
      const ink = (1 + 0.1 * z0!) * (1 + 0.05 * z3!);
      const shear = Math.round(z3!);
      const shape: [number, number][] = range(2 + Math.min(2, Math.max(0, Math.round(z4!))), 9).map(
        (y) => [5 + Math.round((shear * (9 - y)) / 4), y],
      );
      if (z1! < 0) shape.push([6, 9], [7, 9], [8, 9]);
      images.push(image(shape, ink));
    }
    return batch(images);
  }
  const classifySynthetic = (x: tf.Tensor4D): Int32Array => {
    const p = x.dataSync();
    return Int32Array.from({ length: x.shape[0] }, (_, i) =>
      p[i * S * S + 9 * S + 8]! > 0 ? 0 : 1,
    );
  };

  it("traversalEffects: the known factor of each dimension, exact effects, the score; no leak", () => {
    const rng = new Rng(21);
    const refCodes = tf.tensor4d(
      Array.from({ length: 200 * 5 }, (_, i) =>
        i % 5 === 1 ? (i % 10 === 1 ? 1 : -1) : rng.normal(),
      ),
      [200, 5, 1, 1],
    );
    const refImages = decodeSynthetic(refCodes);
    const reference = factorReference(readerOf(classifySynthetic), refImages);
    close(reference.digitImpurity, 0.5, 1e-12, "two balanced digits");
    // Base codes: 6 digits, half of each class, z3 = z4 = 0 (no shear, full length).
    const base = [
      [0.5, 1, 0, 0, 0],
      [-1, 1, 2, 0, 0],
      [2, 1, -1, 0, 0],
      [0, -1, 0, 0, 0],
      [1, -2, 1, 0, 0],
      [-2, -1, 0, 0, 0],
    ];
    const codes = tf.tensor4d(base.flat(), [6, 5, 1, 1]);
    const values = range(-3, 3);
    const before = tf.memory().numTensors;
    const result = traversalEffects({
      decode: decodeSynthetic,
      reader: readerOf(classifySynthetic),
      codes,
      dims: [0, 1, 2, 3],
      values,
      reference,
    });
    assert.equal(tf.memory().numTensors, before);
    const [e0, e1, e2, e3] = result.dims;
    // z0: ink = m0 (1 + 0.1 t): variance m0^2 * 0.01 * var(-3..3) = m0^2 * 0.04 (8 or 11 pixels).
    const inkVar = (3 * 64 * 0.04 + 3 * 121 * 0.04) / 6;
    close(e0!.effects.ink, inkVar / reference.withinDigitVariance.ink, 1e-5, "z0: ink");
    for (const f of ["digit", "slant", "width", "height"] as const)
      close(e0!.effects[f], 0, 1e-9, `z0: ${f}`);
    assert.equal(e0!.dominant, "ink");
    close(e0!.concentration, 1, 1e-6, "z0 concentration");
    // z1: 3 of the 7 values give an L, 4 a bar, from every base: impurity 24/49.
    close(e1!.effects.digit, 24 / 49 / 0.5, 1e-12, "z1: digit");
    for (const f of ["ink", "slant", "width", "height"] as const)
      close(e1!.effects[f], 0, 1e-9, `z1: ${f}`);
    assert.equal(e1!.dominant, "digit");
    // z2 changes nothing.
    assert.ok(Object.values(e2!.effects).every((e) => e === 0));
    assert.equal(e2!.dominant, null);
    assert.ok(Number.isNaN(e2!.concentration));
    // z3 changes ink and slant (and, through rounding, width): mixed.
    assert.ok(e3!.effects.slant > 0.1 && e3!.effects.ink > 0.01 && e3!.effects.digit === 0);
    assert.ok(
      e3!.concentration > 0 && e3!.concentration < 0.9,
      `z3 concentration ${e3!.concentration}`,
    );
    // The score weighs z0 and z1 (concentration 1) and z3 (mixed), not z2.
    const w = [e0!, e1!, e3!].map((e) => Object.values(e.effects).reduce((a, b) => a + b, 0));
    const expected =
      (w[0]! * e0!.concentration + w[1]! * e1!.concentration + w[2]! * e3!.concentration) /
      (w[0]! + w[1]! + w[2]!);
    close(result.score, expected, 1e-12, "score");
    assert.ok(result.score < 1 && result.score > e3!.concentration);
    tf.dispose([refCodes, refImages, codes]);
  });

  it("factorReference refuses images that cannot serve as a reference", () => {
    const same = batch([image([[1, 1]]), image([[1, 1]])]);
    assert.throws(
      () =>
        factorReference(
          readerOf(() => new Int32Array([0, 1])),
          same,
        ),
      /do not vary in ink/,
    );
    same.dispose();
  });
});
