/**
 * Benchmark: fit PCA on the 60,000 MNIST training images (mean + 784x784 covariance with tfjs
 * matMul, then the exact Float64 eigen-decomposition), and the test MSE per pixel of the PCA
 * reconstruction of the 10,000 test images for d in {2, 4, 8, 16, 32}, against issue 9's
 * PyTorch reference. Run: MNIST_DIR=<folder with the four .gz IDX files> npx tsx bench/pca.ts
 * (DLC_BACKEND forces a backend). Timings on a shared 2-core machine are noisy.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { reconstructionMsePerPixel } from "../lib/metrics/reconstruction";
import { meanAndCovariance, symmetricEigen } from "../lib/linalg";
import { PCA } from "../lib/models";

/** Issue 9's reference: PCA test MSE per pixel, PyTorch 1.13. */
export const REFERENCE_PCA_MSE: Readonly<Record<number, number>> = {
  2: 0.0557,
  4: 0.0479,
  8: 0.0374,
  16: 0.0269,
  32: 0.0168,
};

export interface PcaBenchResult {
  backend: string;
  loadSeconds: number;
  /** Mean and covariance (tfjs matMul over 60,000 x 784): wall and CPU (user + system) seconds. */
  covarianceSeconds: number;
  covarianceCpuSeconds: number;
  /** Eigen-decomposition of the 784 x 784 covariance. */
  eigenSeconds: number;
  eigenCpuSeconds: number;
  /** Whole PCA.fit (covariance + eigen + tensors). */
  fitSeconds: number;
  fitCpuSeconds: number;
  rows: { d: number; testMse: number; trainMse: number; reference: number; relativeGap: number }[];
  /** Test MSE of the 5 prefixes on the 10,000 test images. */
  mseSeconds: number;
  mseCpuSeconds: number;
  peakRssMiB: number;
}

/** MNIST images of one IDX.gz file as a [N, 28, 28, 1] tensor in [0, 1]. */
function readImages(file: string): tf.Tensor4D {
  if (!fs.existsSync(file))
    throw new Error(`bench/pca: ${file} not found; set MNIST_DIR to the MNIST folder`);
  const bytes = zlib.gunzipSync(fs.readFileSync(file));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [magic, n, rows, cols] = [0, 4, 8, 12].map((o) => view.getUint32(o, false)) as [
    number,
    number,
    number,
    number,
  ];
  if (magic !== 0x803 || bytes.length !== 16 + n * rows * cols) {
    throw new Error(`bench/pca: ${file} is not an idx3 image file of the right length`);
  }
  const pixels = new Float32Array(n * rows * cols);
  for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[16 + i]! / 255;
  return tf.tensor4d(pixels, [n, rows, cols, 1]);
}

/** Wall and CPU seconds of fn (CPU time is less disturbed by other jobs on a shared machine). */
function timed<T>(fn: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

export async function benchPca(mnistDir: string): Promise<PcaBenchResult> {
  const report = await initBackend({ quiet: true });
  let t = performance.now();
  const train = readImages(path.join(mnistDir, "train-images-idx3-ubyte.gz"));
  const test = readImages(path.join(mnistDir, "t10k-images-idx3-ubyte.gz"));
  const loadSeconds = (performance.now() - t) / 1000;
  try {
    // The two stages alone, for the breakdown...
    const cov = timed(() => meanAndCovariance(train));
    const eig = timed(() => symmetricEigen(cov.value.covariance, cov.value.dim));
    // ...then the fit the notebook does: once at d = 32, prefixes for the smaller d.
    const fit = timed(() => PCA.fit(train, 32));
    const full = fit.value;
    const c0 = process.cpuUsage();
    t = performance.now();
    const rows: PcaBenchResult["rows"] = [];
    for (const d of [2, 4, 8, 16, 32]) {
      const pca = full.truncate(d);
      const testMse = reconstructionMsePerPixel((x) => pca.forward(x), test, 1000);
      const reference = REFERENCE_PCA_MSE[d]!;
      rows.push({
        d,
        testMse,
        trainMse: pca.trainMsePerPixel(),
        reference,
        relativeGap: (testMse - reference) / reference,
      });
      pca.dispose();
    }
    const mseSeconds = (performance.now() - t) / 1000;
    const c = process.cpuUsage(c0);
    const mseCpuSeconds = (c.user + c.system) / 1e6;
    full.dispose();
    return {
      backend: report.line,
      loadSeconds,
      covarianceSeconds: cov.wall,
      covarianceCpuSeconds: cov.cpu,
      eigenSeconds: eig.wall,
      eigenCpuSeconds: eig.cpu,
      fitSeconds: fit.wall,
      fitCpuSeconds: fit.cpu,
      rows,
      mseSeconds,
      mseCpuSeconds,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    tf.dispose([train, test]);
  }
}

/** The result as printable lines (backend, timings, then a markdown table). */
export function formatPcaBench(r: PcaBenchResult): string {
  const lines: string[] = [];
  lines.push(`backend: ${r.backend}`);
  lines.push(
    `PCA.fit on 60,000 images: ${r.fitSeconds.toFixed(1)} s wall, ${r.fitCpuSeconds.toFixed(1)} s CPU ` +
      `(alone: covariance ${r.covarianceSeconds.toFixed(1)} s wall / ${r.covarianceCpuSeconds.toFixed(1)} s CPU, ` +
      `eigen ${r.eigenSeconds.toFixed(1)} s / ${r.eigenCpuSeconds.toFixed(1)} s CPU)`,
  );
  lines.push(
    `load ${r.loadSeconds.toFixed(1)} s; test MSE for 5 d ${r.mseSeconds.toFixed(1)} s wall / ${r.mseCpuSeconds.toFixed(1)} s CPU; ` +
      `peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
  );
  lines.push("| d | test MSE/pixel | reference | gap | train MSE/pixel (spectrum) |");
  lines.push("|---|---|---|---|---|");
  for (const row of r.rows) {
    lines.push(
      `| ${row.d} | ${row.testMse.toFixed(5)} | ${row.reference.toFixed(4)} | ` +
        `${(100 * row.relativeGap).toFixed(1)}% | ${row.trainMse.toFixed(5)} |`,
    );
  }
  return lines.join("\n");
}

if (require.main === module) {
  const dir = process.env.MNIST_DIR;
  if (dir === undefined || dir === "") {
    console.error("bench/pca: set MNIST_DIR to the folder holding the MNIST .gz IDX files");
    process.exit(2);
  }
  benchPca(dir).then(
    (r) => console.log(formatPcaBench(r)),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
