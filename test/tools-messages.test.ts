/**
 * Issue 14, item 11: messages that name the file and say what to do (truncated gzip per
 * source, corrupt figures manifest, full disk, a busy manifest lock) and DLC_SEED parsing.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { FileWriteError, writeFileAtomic } from "../lib/atomic-write";
import { loadMnist } from "../lib/data";
import { encodeIdx } from "../lib/data/idx";
import { SettingsError, readSettings, settingsErrors } from "../lib/settings";
import { readManifest, recordInManifest, type FigureEntry } from "../lib/viz/manifest";

function figure(name: string): FigureEntry {
  return {
    section: "7.1",
    name,
    kind: "image",
    caption: name,
    slide: null,
    notebook: null,
    cell: null,
    seed: 0,
    backend: "wasm",
    dataset: "mnist",
    quick: true,
    elapsedSeconds: 0,
    width: 1,
    height: 1,
    scale: 1,
    files: [],
  };
}

/** The test split's two files, the images' gzip cut in half. */
function truncatedSplit(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const images = zlib.gzipSync(encodeIdx([2, 28, 28], new Uint8Array(2 * 28 * 28)));
  fs.writeFileSync(
    path.join(dir, "t10k-images-idx3-ubyte.gz"),
    images.subarray(0, images.length >> 1),
  );
  const labels = zlib.gzipSync(encodeIdx([2], Uint8Array.from([1, 2])));
  fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte.gz"), labels);
}

describe("tools: messages that name the file and say what to do", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-messages-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const quiet = { systemDir: null, mirrors: [], verify: false, fallback: false, log: () => {} };

  it("a truncated gzip in MNIST_DIR: replace it or unset MNIST_DIR, not 'delete the file'", async () => {
    truncatedSplit(path.join(dir, "mine"));
    await assert.rejects(
      loadMnist("test", { ...quiet, env: { MNIST_DIR: path.join(dir, "mine") }, cacheRoot: dir }),
      (e: Error) => {
        assert.match(e.message, /t10k-images-idx3-ubyte\.gz: truncated or corrupt gzip/);
        assert.match(e.message, /replace it with the original file, or unset MNIST_DIR/);
        assert.doesNotMatch(e.message, /delete/);
        return true;
      },
    );
  });

  it("a truncated gzip in the download cache: delete it, the next load fetches it again", async () => {
    truncatedSplit(path.join(dir, "cache", "mnist"));
    await assert.rejects(
      loadMnist("test", { ...quiet, env: {}, cacheRoot: path.join(dir, "cache") }),
      /truncated or corrupt gzip .*delete it; the next load fetches it again/,
    );
  });

  it("a corrupt figures manifest names the file and what to do", () => {
    const file = path.join(dir, "manifest.json");
    fs.writeFileSync(file, '{"version": 1, "figures": [');
    const expected = (e: Error): boolean => {
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.match(e.message, /not valid JSON .*delete it and re-run the notebooks/);
      return true;
    };
    assert.throws(() => readManifest(dir), expected);
    assert.throws(() => recordInManifest(dir, { figure: figure("a") }), expected);
    fs.writeFileSync(file, "[]");
    assert.throws(() => readManifest(dir), /manifest\.json: not a version 1 figures manifest; it/);
  });

  it("a full disk: the error names the file and leaves no temporary file", function () {
    const disk = path.join(dir, "disk");
    fs.mkdirSync(disk);
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]);
    if (mount.status !== 0) {
      console.log("      (skipped: cannot mount a small tmpfs here; needs root)");
      this.skip();
    }
    try {
      const file = path.join(disk, "figures", "big.png");
      assert.throws(
        () => writeFileAtomic(file, new Uint8Array(256 * 1024)),
        (e: unknown) => {
          assert.ok(e instanceof FileWriteError);
          assert.equal(e.code, "ENOSPC");
          assert.equal(e.message, `${file}: cannot write it: ${e.reason}`);
          assert.match(e.reason, /no space left on the disk/);
          return true;
        },
      );
      assert.deepEqual(fs.readdirSync(path.dirname(file)), []);
    } finally {
      spawnSync("umount", [disk]);
    }
  });

  it("a manifest lock left by a process that has ended is taken over at once", () => {
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    const lock = path.join(dir, "manifest.json.lock");
    fs.writeFileSync(lock, JSON.stringify({ pid: gone, host: os.hostname() }));
    const t0 = Date.now();
    recordInManifest(dir, { figure: figure("a") });
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(
      readManifest(dir).figures.map((f) => f.name),
      ["a"],
    );
    assert.ok(!fs.existsSync(lock));
  });

  it("a manifest lock younger than 30 s is waited for, not an error after 10 s", async function () {
    this.timeout(60_000);
    const lock = path.join(dir, "manifest.json.lock");
    // Another live process holds the lock for 11 s.
    const holder = spawn(process.execPath, [
      "-e",
      `const fs = require("fs");
       fs.writeFileSync(${JSON.stringify(lock)}, JSON.stringify({ pid: process.pid, host: require("os").hostname() }));
       console.log("locked");
       setTimeout(() => fs.rmSync(${JSON.stringify(lock)}), 11000);`,
    ]);
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const t0 = Date.now();
    recordInManifest(dir, { figure: figure("b") });
    const waited = Date.now() - t0;
    assert.ok(waited > 9000, `waited only ${waited} ms for a live holder`);
    assert.deepEqual(
      readManifest(dir).figures.map((f) => f.name),
      ["b"],
    );
    holder.kill();
  });

  it("settingsErrors lists every bad DLC_* value; readSettings throws them all at once", () => {
    const env = { DLC_SEED: "x", DLC_BACKEND: "gpu", DLC_THREADS: "99", DLC_DATASET: "mnist" };
    const expected = [
      "DLC_SEED=x: use a decimal integer between 0 and 2^31 - 1 (e.g. 42)",
      "DLC_BACKEND=gpu: not a backend; use one of tensorflow, webgpu, native, wasm, cpu",
      "DLC_THREADS=99: use an integer between 1 and 64 (default: one per core)",
    ];
    assert.deepEqual(settingsErrors(env), expected);
    assert.throws(
      () => readSettings(env),
      (e: unknown) => e instanceof SettingsError && e.message === expected.join("\n"),
    );
    assert.deepEqual(settingsErrors({ DLC_BACKEND: "wasm", DLC_QUICK: "1" }), []);
    assert.equal(readSettings({ DLC_BACKEND: "cpu" }).backend, "cpu");
  });

  it("with a bad setting, lib still imports; reading `settings` throws what is wrong", () => {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `const s = require(${JSON.stringify(path.resolve(__dirname, "../lib/settings.ts"))});
         console.log(JSON.stringify(s.settingsErrors()));
         try { s.settings.seed; } catch (e) { console.log(e.name + ": " + e.message); }`,
      ],
      { env: { ...process.env, DLC_SEED: "abc" }, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      JSON.stringify(["DLC_SEED=abc: use a decimal integer between 0 and 2^31 - 1 (e.g. 42)"]),
      "SettingsError: DLC_SEED=abc: use a decimal integer between 0 and 2^31 - 1 (e.g. 42)",
    ]);
  });

  it("DLC_SEED takes decimal integers only", () => {
    assert.equal(readSettings({ DLC_SEED: "42" }).seed, 42);
    assert.equal(readSettings({ DLC_SEED: "" }).seed, 0);
    for (const bad of ["0x10", "1e3", "7.0", "+5", " 7", "-1", "2147483648", "0b11"]) {
      assert.throws(
        () => readSettings({ DLC_SEED: bad }),
        /DLC_SEED=.*use a decimal integer between 0 and 2\^31 - 1/,
        bad,
      );
    }
  });
});
