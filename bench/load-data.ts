/**
 * Loading all 70,000 MNIST images (train + test) from the .gz files: wall time and extra
 * resident memory, against the targets of issue 3 (< 3 s, < 400 MB on 2 cores).
 *   MNIST_DIR=../shared/data/mnist npx tsx bench/load-data.ts [--backend cpu|wasm]
 * Extra memory = resident set after loading (and the peak, from getrusage) minus the
 * resident set before, with tfjs already imported. The cpu backend (default) keeps the
 * Float32Array the loader makes as the tensor's storage (70,000 x 784 x 4 B = 220 MB); the
 * wasm backend copies it into its heap, so the peak holds both until V8 collects the first.
 */
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { loadMnist } from "../lib/data";

const TARGET_SECONDS = 3;
const TARGET_MB = 400;
const MB = 1024 * 1024;

async function main(): Promise<void> {
  if (!process.env.MNIST_DIR) {
    console.error("load-data: set MNIST_DIR to the folder with the four MNIST .gz files");
    process.exit(2);
  }
  const flag = process.argv.indexOf("--backend");
  const backend = flag >= 0 ? process.argv[flag + 1] : "cpu";
  if (backend !== "cpu" && backend !== "wasm") {
    console.error(`load-data: --backend must be cpu or wasm, got ${backend}`);
    process.exit(2);
  }
  await tf.setBackend(backend);
  await tf.ready();
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const train = await loadMnist("train");
  const test = await loadMnist("test");
  const seconds = (performance.now() - t0) / 1000;
  const extra = (process.memoryUsage().rss - rss0) / MB;
  const peak = (process.resourceUsage().maxRSS * 1024 - rss0) / MB;
  const images = train.size + test.size;
  const ok = seconds < TARGET_SECONDS && peak < TARGET_MB;
  console.log(
    `load-data: ${images} images in ${seconds.toFixed(2)} s, extra RSS ${extra.toFixed(0)} MB ` +
      `(peak ${peak.toFixed(0)} MB) on ${os.cpus().length} cores, backend ${tf.getBackend()}; ` +
      `targets < ${TARGET_SECONDS} s, < ${TARGET_MB} MB: ${ok ? "met" : "MISSED"}`,
  );
  console.log(
    JSON.stringify({
      bench: "load-data",
      images,
      seconds,
      extraRssMB: extra,
      peakExtraRssMB: peak,
      ok,
    }),
  );
  train.images.dispose();
  test.images.dispose();
  if (!ok) process.exitCode = 1;
}

void main();
