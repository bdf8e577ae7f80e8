/** The batch loop over a data set, and seeded subsets: order, coverage, determinism, no leaks. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/random";
import { forEachBatch, mapBatches, randomSubset, subset, type Dataset } from "../lib/data";
import { firstN } from "../lib/data/batches";
import { Interrupted } from "../lib/training/interrupt";
import { installFakeKernel } from "./helpers/interrupts";

/** A dataset of n 2x2 "images" whose pixels all equal the item's index; label = index mod 10. */
function fakeDataset(n: number): Dataset {
  const values = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) values.fill(i, 4 * i, 4 * i + 4);
  return {
    name: "mnist",
    split: "test",
    images: tf.tensor4d(values, [n, 1, 2, 2]),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    size: n,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    source: "fake",
    isSubset: false,
    content: `fake-${n}`,
    nouns: { item: "digit", items: "digits" },
  };
}

/** The item index each row of a batch tensor holds. */
const rowsOf = (x: tf.Tensor) => Array.from(x.dataSync()).filter((_, i) => i % 4 === 0);

describe("data/batches", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("forEachBatch visits consecutive slices of every tensor in order and frees them", () => {
    const ds = fakeDataset(23);
    const labels = tf.tensor1d(ds.labels, "int32");
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const starts: number[] = [];
    forEachBatch([ds.images, labels], 5, ([x, y], start) => {
      starts.push(start);
      assert.deepEqual(
        Array.from(y.dataSync()),
        rowsOf(x).map((i) => i % 10),
      );
      seen.push(...rowsOf(x));
      tf.square(x); // a temporary, freed with the batch
    });
    assert.deepEqual(starts, [0, 5, 10, 15, 20]);
    assert.deepEqual(
      seen,
      Array.from({ length: 23 }, (_, i) => i),
    );
    assert.equal(tf.memory().numTensors, before);
    assert.throws(
      () => forEachBatch([ds.images, labels.slice(0, 3)], 5, () => {}),
      /different first axes \(23 vs 3\)/,
    );
    assert.throws(
      () => forEachBatch([ds.images], 0, () => {}),
      /batchSize must be a positive integer/,
    );
    tf.dispose([ds.images, labels]);
  });

  it("mapBatches equals one big call, whatever the batch size, leaving only its result", () => {
    const ds = fakeDataset(17);
    const f = (b: tf.Tensor): tf.Tensor => tf.mul(tf.sum(b, [1, 2, 3]), 2);
    const whole = f(ds.images);
    const before = tf.memory().numTensors;
    for (const size of [1, 4, 17, 100]) {
      const y = mapBatches(ds.images, size, f);
      assert.deepEqual(Array.from(y.dataSync()), Array.from(whole.dataSync()));
      y.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([ds.images, whole]);
  });

  it("stop before the next batch once Interrupt is pressed in a kernel, freeing what they made", () => {
    const kernel = installFakeKernel(14);
    const x = tf.ones([100, 3]);
    const before = tf.memory().numTensors;
    try {
      const visited: number[] = [];
      const press = kernel.press;
      assert.throws(
        () =>
          forEachBatch([x], 10, ([b], start) => {
            visited.push(start);
            if (start === 20) press();
            tf.square(b);
          }),
        (e: unknown) =>
          e instanceof Interrupted &&
          e.message === "In [14] stopped in forEachBatch, at batch 4 of 10",
      );
      assert.deepEqual(visited, [0, 10, 20]);
      // Still pressed: the rest of the cells sent with this one stop too.
      assert.throws(() => forEachBatch([x], 10, () => {}), /at batch 1 of 10/);
      // Cells sent later start clean.
      kernel.sendCells();
      let calls = 0;
      assert.throws(
        () =>
          mapBatches(x, 10, (b) => {
            if (++calls === 3) press();
            return tf.mul(b, 2);
          }),
        /^Interrupted: In \[14\] stopped in mapBatches, at batch 4 of 10$/,
      );
      assert.equal(tf.memory().numTensors, before, "tensors left by the stopped loops");
      kernel.sendCells();
      mapBatches(x, 10, (b) => tf.mul(b, 2)).dispose();
    } finally {
      kernel.uninstall();
      x.dispose();
    }
  });

  it("firstN, subset and randomSubset keep the right items, seeded, marked as subsets", () => {
    const ds = fakeDataset(30);
    const before = tf.memory().numTensors;
    const first = firstN(ds, 4);
    assert.deepEqual(rowsOf(first.images), [0, 1, 2, 3]);
    assert.equal(first.size, 4);
    assert.equal(first.isSubset, true);
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
    const other = randomSubset(ds, 8, Rng.stream("s", 1));
    assert.notDeepEqual(rowsOf(other.images), rows);
    assert.throws(() => subset(ds, Int32Array.from([30])), /index 30 outside 0 .. 29/);
    for (const d of [first, some, rnd, again, other]) d.images.dispose();
    assert.equal(tf.memory().numTensors, before);
    ds.images.dispose();
  });
});
