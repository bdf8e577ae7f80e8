/** Seeded shuffling, batching and subsetting: coverage, determinism, order, and no leaked tensors. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/random";
import {
  batchIndices,
  batches,
  firstN,
  indicesOfClass,
  randomSubset,
  subset,
  type Dataset,
} from "../lib/data";

/** A dataset of n 2x2 "images" whose pixels all equal the item's index; label = index mod 10. */
function fakeDataset(n: number): Dataset {
  const values = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) values.fill(i, 4 * i, 4 * i + 4);
  return {
    name: "mnist",
    split: "test",
    images: tf.tensor4d(values, [n, 2, 2, 1]),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    size: n,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    source: "fake",
    isSubset: false,
  };
}

/** The item index each row of a batch tensor holds. */
const rowsOf = (x: tf.Tensor) => Array.from(x.dataSync()).filter((_, i) => i % 4 === 0);

describe("data/batches", () => {
  it("batchIndices covers 0..n-1 once; last batch short unless dropLast", () => {
    const plain = batchIndices(10, 4);
    assert.deepEqual(
      plain.map((b) => Array.from(b)),
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ],
    );
    assert.equal(batchIndices(10, 4, { dropLast: true }).length, 2);
    const shuffled = batchIndices(1000, 64, { shuffle: Rng.stream("t", 1) });
    const all = shuffled.flatMap((b) => Array.from(b)).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.notDeepEqual(
      Array.from(shuffled[0] as Int32Array),
      Array.from({ length: 64 }, (_, i) => i),
    );
    assert.throws(() => batchIndices(10, 0), /batchSize/);
  });

  it("the same seed gives the same order, another seed another", () => {
    const a = batchIndices(500, 50, { shuffle: Rng.stream("t", 7) })[0] as Int32Array;
    const b = batchIndices(500, 50, { shuffle: Rng.stream("t", 7) })[0] as Int32Array;
    const c = batchIndices(500, 50, { shuffle: Rng.stream("t", 8) })[0] as Int32Array;
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(a), Array.from(c));
  });

  it("batches yields the rows and labels at the batch's indices and frees every batch", () => {
    const ds = fakeDataset(23);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    for (const { x, labels, indices } of batches(ds, 5, { shuffle: Rng.stream("b", 3) })) {
      assert.deepEqual(rowsOf(x), Array.from(indices));
      assert.deepEqual(
        Array.from(labels as Int32Array),
        Array.from(indices).map((i) => i % 10),
      );
      seen.push(...indices);
      assert.ok(tf.memory().numTensors <= before + 1);
    }
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      Array.from({ length: 23 }, (_, i) => i),
    );
    // In file order, and freed after a break too; a bare tensor has no labels.
    for (const { x, labels, indices } of batches(ds.images, 10)) {
      assert.deepEqual(rowsOf(x), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(labels, null);
      assert.equal(indices.length, 10);
      break;
    }
    assert.equal(tf.memory().numTensors, before);
    ds.images.dispose();
  });

  it("firstN, subset, randomSubset and indicesOfClass keep the right items", () => {
    const ds = fakeDataset(30);
    const before = tf.memory().numTensors;
    const first = firstN(ds, 4);
    assert.deepEqual(rowsOf(first.images), [0, 1, 2, 3]);
    assert.equal(first.size, 4);
    const some = subset(ds, Int32Array.from([5, 2, 9]));
    assert.deepEqual(rowsOf(some.images), [5, 2, 9]);
    assert.deepEqual(Array.from(some.labels), [5, 2, 9]);
    const rnd = randomSubset(ds, 8, Rng.stream("s", 0));
    const rows = rowsOf(rnd.images);
    assert.equal(new Set(rows).size, 8);
    assert.deepEqual(
      rows,
      [...rows].sort((a, b) => a - b),
    );
    const again = randomSubset(ds, 8, Rng.stream("s", 0));
    assert.deepEqual(rowsOf(again.images), rows);
    assert.deepEqual(Array.from(indicesOfClass(ds, 3)), [3, 13, 23]);
    assert.throws(() => subset(ds, Int32Array.from([30])), /index 30 outside 0 .. 29/);
    for (const d of [first, some, rnd, again]) d.images.dispose();
    assert.equal(tf.memory().numTensors, before);
    ds.images.dispose();
  });
});
