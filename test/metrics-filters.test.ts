/** neighbourCorrelation: ~0 for noise-like filters, near 1 for smooth ones; the mask. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { activePixels, neighbourCorrelation } from "../lib/metrics/filters";

describe("metrics/filters", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("white noise gives about 0, smooth blobs nearly 1, a checkerboard -1", () => {
    const noise = tf.randomNormal([50, 1, 28, 28], 0, 1, "float32", 3) as tf.Tensor4D;
    assert.ok(Math.abs(neighbourCorrelation(noise)) < 0.02);
    const blobs = tf.tidy(() => {
      const r = tf.range(0, 28).sub(13.5).square();
      const g = tf.exp(tf.neg(tf.add(r.reshape([28, 1]), r.reshape([1, 28])).div(2 * 16)));
      return tf.stack([g, tf.neg(g)]).reshape([2, 1, 28, 28]) as tf.Tensor4D;
    });
    const smooth = neighbourCorrelation(blobs);
    assert.ok(smooth > 0.9, `${smooth}`);
    const checker = tf.tidy(() => {
      const i = tf.range(0, 8).reshape([8, 1]);
      const j = tf.range(0, 8).reshape([1, 8]);
      return tf.mod(tf.add(i, j), 2).mul(2).sub(1).reshape([1, 1, 8, 8]) as tf.Tensor4D;
    });
    assert.ok(Math.abs(neighbourCorrelation(checker) + 1) < 1e-5);
    tf.dispose([noise, blobs, checker]);
  });

  it("the mask keeps only pairs inside it: noise outside does not count", () => {
    // Smooth inside the central 8 x 8, noise on the border.
    const [filters, mask] = tf.tidy(() => {
      const ramp = tf.range(0, 8).reshape([1, 8]).tile([8, 1]).div(8);
      const inside = tf.pad(ramp, [
        [4, 4],
        [4, 4],
      ]);
      const m = tf.pad(tf.ones([8, 8]), [
        [4, 4],
        [4, 4],
      ]) as tf.Tensor2D;
      const border = tf.mul(tf.sub(1, m), tf.randomNormal([16, 16], 0, 1, "float32", 7));
      return [tf.add(inside, border).reshape([1, 1, 16, 16]) as tf.Tensor4D, m];
    });
    assert.ok(neighbourCorrelation(filters) < 0.5, "noise dominates without the mask");
    assert.ok(neighbourCorrelation(filters, mask) > 0.4, "the masked ramp is smooth");
    const images = tf.tidy(() => tf.mul(mask, tf.ones([3, 1, 16, 16])) as tf.Tensor4D);
    const active = activePixels(images);
    assert.deepEqual(Array.from(active.dataSync()), Array.from(mask.dataSync()));
    assert.throws(
      () => neighbourCorrelation(filters, tf.ones([4, 4])),
      /does not match filters 16 x 16/,
    );
    tf.dispose([filters, mask, images, active]);
  });
});
