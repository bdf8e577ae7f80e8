/** Image bytes -> tensor: exactly byte / 255 on the cpu backend and on the wasm heap path. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { imagesToTensor } from "../lib/data/image-tensor";

const pixels = Uint8Array.from({ length: 3 * 4 * 5 + 7 }, (_, i) => (i * 37) % 256);
const expected = Array.from(pixels.subarray(0, 60), (b) => Math.fround(b / 255));

describe("data/image-tensor", () => {
  let previous: string;
  before(async () => {
    await tf.ready();
    previous = tf.getBackend();
  });
  after(async () => {
    await tf.setBackend(previous);
  });

  for (const backend of ["cpu", "wasm"]) {
    it(`${backend}: [N, 1, rows, cols] float32 of byte / 255, first N images only, nothing leaked`, async () => {
      assert.ok(await tf.setBackend(backend));
      const before = tf.memory().numTensors;
      const t = imagesToTensor(pixels, 3, 4, 5);
      assert.equal(tf.getBackend(), backend);
      assert.deepEqual(t.shape, [3, 1, 4, 5]);
      assert.equal(t.dtype, "float32");
      assert.deepEqual(Array.from(t.dataSync()), expected);
      // The tensor works in ops (the wasm heap write is seen by kernels).
      const sum = tf.tidy(() => t.sum().dataSync()[0]!);
      assert.ok(Math.abs(sum - expected.reduce((a, b) => a + b, 0)) < 1e-4);
      t.dispose();
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => imagesToTensor(pixels, 4, 4, 5), /67 bytes for 4 x 4 x 5/);
    });
  }
});
