/** Per-image MSE and PSNR (lib/metrics/per-image), against the whole-set figures. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { msePerImage, psnrPerImage } from "../lib/metrics/per-image";
import { msePerPixel, psnr } from "../lib/metrics/reconstruction";

describe("metrics/per-image", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("PSNR on known cases: a uniform error e gives -20 log10(e) dB", () => {
    const x = tf.zeros([3, 1, 4, 4]);
    const y = tf.tensor4d(
      [0.1, 0.01, 0.5].flatMap((e) => new Array<number>(16).fill(e)),
      [3, 1, 4, 4],
    );
    const p = psnrPerImage(x, y);
    [20, 40, 6.0206].forEach((db, i) => assert.ok(Math.abs(p[i]! - db) < 1e-3));
    assert.equal(psnrPerImage(x, x)[0], Infinity);
    // Peak 255: the same error scaled by 255 gives the same PSNR.
    const y255 = tf.mul(y, 255);
    assert.ok(Math.abs(psnrPerImage(x, y255, 255)[0]! - 20) < 1e-3);
    tf.dispose([x, y, y255]);
  });

  it("per-image MSEs average to the whole set's, whatever the batch size", () => {
    const x = tf.randomUniform([37, 1, 5, 5], 0, 1, "float32", 1);
    const y = tf.randomUniform([37, 1, 5, 5], 0, 1, "float32", 2);
    const before = tf.memory().numTensors;
    const all = msePerImage(x, y);
    for (const b of [1, 5, 36]) assert.deepEqual(msePerImage(x, y, b), all);
    assert.equal(tf.memory().numTensors, before, "no tensor left");
    assert.equal(all.length, 37);
    const mean = all.reduce((a, v) => a + v, 0) / all.length;
    assert.ok(Math.abs(mean - msePerPixel(x, y)) < 1e-7);
    // The set's PSNR is that of the mean MSE, not the mean of the PSNRs (Jensen: smaller).
    const meanPsnr = psnrPerImage(x, y).reduce((a, v) => a + v, 0) / all.length;
    assert.ok(psnr(x, y) < meanPsnr);
    tf.dispose([x, y]);
  });

  it("bad inputs get clear errors", () => {
    const a = tf.zeros([2, 4]);
    const b = tf.zeros([2, 5]);
    assert.throws(() => msePerImage(a, b), /shapes differ, \[2,4\] vs \[2,5\]/);
    assert.throws(() => msePerImage(a, a, 0), /forEachBatch: batchSize must be a positive integer/);
    const v = tf.zeros([4]);
    assert.throws(() => msePerImage(v, v), /expected a non-empty batch/);
    tf.dispose([a, b, v]);
  });
});
