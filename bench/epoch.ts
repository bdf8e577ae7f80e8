/**
 * One epoch of 7.2's training cell, timed: the lecture autoencoder at d = 8 on the MNIST
 * training set (shuffled), batch 100, Adam 1e-3, loss 0.5 * sum((x - g(f(x)))^2) / N read
 * back after every step as the training loop does; then the loss on the test set. Prints
 * one RESULT line of JSON (and writes it to --json FILE).
 *
 *   MNIST_DIR=... npx tsx bench/epoch.ts [--backend webgpu|wasm|...] [--d 8] [--batch 100]
 *                                        [--limit N] [--json FILE]
 * Without --backend, initBackend chooses (webgpu on a real GPU). --limit N trains on the
 * first N training images and tests on the first N test images (a quick check).
 */
import { writeFileAtomic } from "../lib/atomic-write";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend, type BackendName } from "../lib/backend";
import { loadDataset } from "../lib/data";
import { Rng } from "../lib/random";
import { lectureAutoencoder, type BenchModel } from "./models";
import { trainStep } from "./step";

const USAGE =
  "usage: epoch.ts [--backend tensorflow|webgpu|wasm|cpu] [--d D] [--batch B] [--limit N] [--json FILE]";

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} ${v}: use a positive integer\n${USAGE}`);
  return n;
}

/** Mean loss over `images` in batches of 500, read asynchronously. */
async function testLoss(model: BenchModel, images: tf.Tensor): Promise<number> {
  const n = images.shape[0];
  let total = 0;
  for (let start = 0; start < n; start += 500) {
    const size = Math.min(500, n - start);
    const loss = tf.tidy(() => model.loss(tf.slice(images, start, size)));
    total += (await loss.data())[0]! * size;
    loss.dispose();
  }
  return total / n;
}

async function main(): Promise<void> {
  let values: { backend?: string; d?: string; batch?: string; limit?: string; json?: string };
  try {
    const options = {
      backend: { type: "string" },
      d: { type: "string" },
      batch: { type: "string" },
      limit: { type: "string" },
      json: { type: "string" },
    } as const;
    values = parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  const d = positive("d", values.d, 8);
  const batch = positive("batch", values.batch, 100);
  const limit = values.limit === undefined ? undefined : positive("limit", values.limit, 0);
  // Prints which backend was chosen, and why the faster ones were not.
  const report = await initBackend({ force: values.backend as BackendName | undefined });
  const t0 = performance.now();
  const train = await loadDataset("mnist", "train", { limit });
  const test = await loadDataset("mnist", "test", { limit });
  const loadSeconds = (performance.now() - t0) / 1000;
  const model = lectureAutoencoder(d);
  const optimizer = tf.train.adam(1e-3);
  const order = Rng.stream("bench/epoch").permutation(train.size);
  // Counted after the first step, once Adam has made its moment variables.
  let tensors = 0;

  const t1 = performance.now();
  let sum = 0;
  let steps = 0;
  for (let start = 0; start < train.size; start += batch) {
    const idx = order.subarray(start, Math.min(train.size, start + batch));
    const x = tf.tidy(() => tf.gather(train.images, tf.tensor1d(idx, "int32")));
    sum += (await trainStep(model, optimizer, x)) * idx.length;
    x.dispose();
    if (steps++ === 0) tensors = tf.memory().numTensors;
  }
  const seconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  const testMean = await testLoss(model, test.images);
  const testSeconds = (performance.now() - t2) / 1000;
  const result = {
    bench: "7.2 epoch",
    backend: report.name,
    detail: report.line.replace(/^tfjs backend: /, "").replace(/; skipped.*$/, ""),
    d,
    batch,
    images: train.size,
    steps,
    seconds,
    msPerStep: (seconds * 1000) / steps,
    imagesPerSecond: train.size / seconds,
    trainLoss: sum / train.size,
    testLoss: testMean,
    testImages: test.size,
    testSeconds,
    loadSeconds,
    tensorsLeaked: tf.memory().numTensors - tensors,
    date: new Date().toISOString(),
  };
  const line = JSON.stringify(result);
  console.log(`RESULT ${line}`);
  if (values.json !== undefined) writeFileAtomic(values.json, line + "\n");
  model.dispose();
  optimizer.dispose();
  train.images.dispose();
  test.images.dispose();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
