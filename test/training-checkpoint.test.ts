import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import nodeFs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { AutoEncoder } from "../lib/models";
import { Linear, ReLU, Sequential } from "../lib/nn";
import { encodeSafetensors } from "../lib/nn/safetensors";
import { Rng } from "../lib/random";
import { checkpointFolder, loadCheckpoint, saveCheckpoint } from "../lib/training/checkpoint";
import { CheckpointError } from "../lib/training/checkpoint-manifest";
import { type CheckpointKey, checkpointHash } from "../lib/training/key";
import { trainOrLoad } from "../lib/training/train-or-load";
import { logFrame } from "../lib/training/train";
import { TinyModel, tinyKey, tinyLogs } from "./fixtures/tiny-model";

const logs = (log: ReturnType<typeof logFrame>) => ({ log, history: logFrame([], []) });

function keyFor(d: number, epochs = 2): CheckpointKey {
  return {
    name: `ae-d${d}`,
    model: { model: "AutoEncoder", nbChannels: 4, embeddingDim: d, seed: 1 },
    dataset: { name: "mnist", train: 60000 },
    seed: 1,
    training: { epochs, batchSize: 100, learningRate: 1e-3 },
  };
}

const weights = (m: AutoEncoder): number[][] => m.parameters().map((v) => Array.from(v.dataSync()));

const fakeLog = logFrame(
  [
    { epoch: 1, steps: 600, train_loss: 20.5, test_loss: 15.25, seconds: 100 },
    { epoch: 2, steps: 1200, train_loss: 12.5, test_loss: NaN, seconds: 101 },
  ],
  ["epoch", "steps"],
);
const fakeHistory = logFrame(
  [
    { step: 300, epoch: 0.5, train_loss: 30 },
    { step: 600, epoch: 1, train_loss: 20.5 },
  ],
  ["step"],
);
const fakeLogs = { log: fakeLog, history: fakeHistory };

/**
 * Inside a describe: a fresh checkpoint folder for each test (`ck.dir`, removed after it)
 * and the lines the store reported (`ck.lines`, through `ck.report`).
 */
function scratchFolder(): { dir: string; lines: string[]; report: (line: string) => void } {
  const ck = { dir: "", lines: [] as string[], report: (line: string) => void ck.lines.push(line) };
  beforeEach(() => {
    ck.dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-ckpt-"));
    ck.lines.length = 0;
  });
  afterEach(() => fs.rmSync(ck.dir, { recursive: true, force: true }));
  return ck;
}

describe("checkpoints", function () {
  const ck = scratchFolder();

  before(async () => {
    await initBackend({ quiet: true });
  });

  it("round-trips parameters and the training log, leaving no temporary file", () => {
    const a = new AutoEncoder({ embeddingDim: 3, nbChannels: 4, seed: 1 });
    const b = new AutoEncoder({ embeddingDim: 3, nbChannels: 4, seed: 2 });
    assert.notDeepEqual(weights(a), weights(b));
    const folder = saveCheckpoint(a, keyFor(3), fakeLogs, ck.dir);
    assert.equal(folder, checkpointFolder(keyFor(3), ck.dir));
    const files = fs.readdirSync(folder).sort();
    assert.equal(files.length, 2);
    assert.equal(files[0], "manifest.json");
    assert.match(files[1]!, /^weights-[0-9a-f]{16}\.safetensors$/);
    // The parameters in float32 after the safetensors header.
    assert.ok(fs.statSync(path.join(folder, files[1]!)).size > 4 * a.parameterCount());
    const before = tf.memory().numTensors;
    const loaded = loadCheckpoint(b, keyFor(3), ck.dir);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(weights(b), weights(a));
    assert.ok(loaded !== null);
    const { log, history } = loaded;
    assert.deepEqual(log.columns, fakeLog.columns);
    assert.deepEqual(log.getColumn("train_loss").toArray(), [20.5, 12.5]);
    assert.ok(Number.isNaN(log.getColumn("test_loss").toArray()[1] as number));
    assert.deepEqual(history.getColumn("epoch").toArray(), [0.5, 1]);
    // Saving again replaces the weights file; still two files.
    saveCheckpoint(b, keyFor(3), fakeLogs, ck.dir);
    assert.equal(fs.readdirSync(folder).length, 2);
    a.dispose();
    b.dispose();
  });

  it("returns null when there is none; the key's parts each change the folder", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    assert.equal(loadCheckpoint(m, keyFor(2), ck.dir), null);
    const base = checkpointFolder(keyFor(2), ck.dir);
    const variants: CheckpointKey[] = [
      keyFor(2, 3),
      { ...keyFor(2), seed: 2 },
      { ...keyFor(2), dataset: { name: "fashion-mnist", train: 60000 } },
      { ...keyFor(2), model: { model: "AutoEncoder", nbChannels: 8, embeddingDim: 2, seed: 1 } },
    ];
    for (const k of variants) assert.notEqual(checkpointFolder(k, ck.dir), base);
    // Key order does not matter.
    const reordered: CheckpointKey = {
      ...keyFor(2),
      training: { learningRate: 1e-3, batchSize: 100, epochs: 2 },
    };
    assert.equal(checkpointFolder(reordered, ck.dir), base);
    assert.throws(() => checkpointFolder({ ...keyFor(2), name: "a/b" }, ck.dir), /letters, digits/);
    m.dispose();
  });

  it("trainOrLoad trains once, then loads; a changed configuration retrains", async () => {
    let trained = 0;
    const trainFn = async (m: AutoEncoder): Promise<typeof fakeLogs> => {
      trained++;
      // Stand-in for training: move the weights.
      m.parameters()[0]!.assign(tf.onesLike(m.parameters()[0]!));
      return fakeLogs;
    };
    const build = (): AutoEncoder => new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const first = await trainOrLoad(keyFor(2), build, trainFn, ck);
    assert.equal(first.loaded, false);
    const second = await trainOrLoad(keyFor(2), build, trainFn, ck);
    assert.equal(second.loaded, true);
    assert.equal(trained, 1);
    assert.deepEqual(weights(second.model), weights(first.model));
    assert.equal(second.log.height, 2);
    const third = await trainOrLoad(keyFor(2, 5), build, trainFn, ck);
    assert.equal(third.loaded, false);
    assert.equal(trained, 2);
    assert.match(ck.lines[0]!, /^checkpoint ae-d2-[0-9a-f]{16}: none yet, training$/);
    assert.match(ck.lines[2]!, /^checkpoint ae-d2-[0-9a-f]{16}: loaded \(2 epochs logged\)$/);
    [first, second, third].forEach((r) => r.model.dispose());
  });

  it("a corrupt weights file is reported in one line and retrained, never used", async () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(m, keyFor(2), fakeLogs, ck.dir);
    const wfile = fs.readdirSync(folder).find((f) => f.startsWith("weights-"))!;
    const bytes = fs.readFileSync(path.join(folder, wfile));
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(path.join(folder, wfile), bytes);
    const fresh = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 9 });
    const untouched = weights(fresh);
    assert.throws(
      () => loadCheckpoint(fresh, keyFor(2), ck.dir),
      (e: unknown) => e instanceof CheckpointError && /sha256/.test(e.message),
    );
    assert.deepEqual(weights(fresh), untouched, "the model must not be touched");
    let trained = 0;
    const r = await trainOrLoad(
      keyFor(2),
      () => new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 }),
      () => {
        trained++;
        return logs(logFrame([{ epoch: 1, steps: 1, train_loss: 1, seconds: 1 }], ["epoch"]));
      },
      ck,
    );
    assert.equal(trained, 1);
    assert.equal(r.loaded, false);
    assert.equal(ck.lines.length, 2);
    assert.match(
      ck.lines[0]!,
      /^checkpoint ae-d2-[0-9a-f]{16}: weights file does not match its sha256 \(corrupt\); retraining$/,
    );
    // The retrained model replaced the corrupt checkpoint.
    const again = await trainOrLoad(
      keyFor(2),
      () => new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 }),
      () => {
        throw new Error("should load");
      },
      ck,
    );
    assert.equal(again.loaded, true);
    [m, fresh, r.model, again.model].forEach((x) => x.dispose());
  });

  it("a truncated weights file or a broken manifest is reported", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(m, keyFor(2), fakeLogs, ck.dir);
    const wfile = fs.readdirSync(folder).find((f) => f.startsWith("weights-"))!;
    fs.truncateSync(path.join(folder, wfile), 1000);
    assert.throws(() => loadCheckpoint(m, keyFor(2), ck.dir), /weights file has 1000 bytes/);
    fs.writeFileSync(path.join(folder, "manifest.json"), '{"format": "dlc7-check');
    assert.throws(() => loadCheckpoint(m, keyFor(2), ck.dir), /manifest.json is unreadable/);
    fs.writeFileSync(path.join(folder, "manifest.json"), "{}");
    assert.throws(() => loadCheckpoint(m, keyFor(2), ck.dir), /not a dlc7 checkpoint manifest/);
    m.dispose();
  });

  it("a mismatched key or architecture is reported, not loaded", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(m, keyFor(2), fakeLogs, ck.dir);
    // A manifest whose key was for another run (e.g. copied over by hand).
    const manifestPath = path.join(folder, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { key: { seed: number } };
    manifest.key.seed = 7;
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    assert.throws(() => loadCheckpoint(m, keyFor(2), ck.dir), /key differs/);
    // Same key, other architecture (the code changed but not the key).
    saveCheckpoint(m, keyFor(2), fakeLogs, ck.dir);
    const wider = new AutoEncoder({ embeddingDim: 2, nbChannels: 5, seed: 1 });
    const untouched = weights(wider);
    assert.throws(
      () => loadCheckpoint(wider, keyFor(2), ck.dir),
      /size mismatch for encoder\.0\.weight: copying a param with shape \[4, 1, 5, 5\] \(100 values\), the shape in the current model is \[5, 1, 5, 5\] \(125 values\)/,
    );
    assert.deepEqual(weights(wider), untouched);
    m.dispose();
    wider.dispose();
  });

  it("refuses to save a model holding NaN, and reads no log before the weights check out", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const v = m.parameters()[3]!;
    tf.tidy(() => v.assign(tf.fill(v.shape, NaN)));
    assert.throws(
      () => saveCheckpoint(m, keyFor(2), fakeLogs, ck.dir),
      /parameter encoder\.2\.bias holds NaN or Infinity; not saved/,
    );
    assert.equal(fs.existsSync(checkpointFolder(keyFor(2), ck.dir)), false);
    // A malformed log is reported before any weight is assigned.
    const good = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(good, keyFor(2), fakeLogs, ck.dir);
    const manifestPath = path.join(folder, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { log: unknown[] };
    manifest.log = [{ epoch: "one" }];
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    const fresh = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 9 });
    const untouched = weights(fresh);
    assert.throws(
      () => loadCheckpoint(fresh, keyFor(2), ck.dir),
      /manifest\.json: "log\[0\]\.epoch" is not a non-negative integer/,
    );
    assert.deepEqual(weights(fresh), untouched);
    [m, good, fresh].forEach((x) => x.dispose());
  });
});

const WORKER = path.join(__dirname, "fixtures", "checkpoint-worker.ts");
type WorkerResult = Record<string, unknown>;

/**
 * Starts test/fixtures/checkpoint-worker.ts processes (each `args` a command line), waits
 * until all have loaded their modules, then lets them go at once through `go`. Returns the
 * promises of their JSON results.
 */
async function startWorkers(
  go: string,
  commands: string[][],
  options: { prefix?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Array<Promise<WorkerResult>>> {
  const runs = commands.map((args) => {
    const [cmd, ...rest] = [
      ...(options.prefix ?? []),
      process.execPath,
      "--import",
      "tsx",
      WORKER,
      ...args,
    ];
    const child = spawn(cmd!, rest, {
      cwd: path.join(__dirname, ".."),
      env: { ...(options.env ?? process.env), CHECKPOINT_WORKER_GO: go },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let onReady = (): void => {};
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("ready\n")) onReady();
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const result = new Promise<WorkerResult>((resolve, reject) => {
      child.on("close", (code, signal) => {
        if (code !== 0) {
          reject(new Error(`worker ${args.join(" ")} ended with ${code ?? signal}: ${err}`));
        } else resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as WorkerResult);
      });
    });
    return { ready, result };
  });
  // A worker that dies before it is ready fails the test here instead of hanging it.
  await Promise.all(runs.map((r) => Promise.race([r.ready, r.result])));
  fs.writeFileSync(go, "");
  return runs.map((r) => r.result);
}

/** The id of a process that has ended. */
const endedPid = (): number => spawnSync(process.execPath, ["-e", "0"]).pid as number;

/** Trains the tiny model to `value` (a stand-in for training), counting calls. */
function tinyTraining(value: number, size = 3) {
  const calls = { n: 0 };
  const fn = (m: TinyModel): ReturnType<typeof tinyLogs> => {
    calls.n++;
    m.loadStateDict(new TinyModel(value, size).stateDict());
    return tinyLogs(value);
  };
  return { calls, fn };
}

describe("checkpoints: a failed save keeps the trained model", function () {
  const ck = scratchFolder();
  const warnings: string[] = [];
  const options = (d: string) => ({
    dir: d,
    report: (l: string) => void ck.lines.push(l),
    warn: (l: string) => void warnings.push(l),
  });
  const notSaved = (d: string, file: string, reason: string, name = "tiny"): RegExp =>
    new RegExp(
      `^checkpoint ${name}-[0-9a-f]{16}: NOT SAVED in ${d} \\(${file}: ${reason}\\); the trained model is used in this session only\\. To keep checkpoints, set DLC_CHECKPOINT_DIR to a writable folder\\.$`,
    );

  beforeEach(() => {
    warnings.length = 0;
  });

  it("a read-only folder: what is there loads, the rest trains and warns", async function () {
    this.timeout(60_000);
    const ro = path.join(ck.dir, "readonly");
    saveCheckpoint(new TinyModel(7), tinyKey("kept"), tinyLogs(7), ro);
    // A corrupt checkpoint, with a temporary of a killed save that cannot be removed.
    const broken = checkpointFolder(tinyKey("broken"), ro);
    saveCheckpoint(new TinyModel(8), tinyKey("broken"), tinyLogs(8), ro);
    fs.writeFileSync(path.join(broken, "manifest.json"), "{");
    fs.writeFileSync(path.join(broken, `manifest.json.${endedPid()}.1.tmp`), "");
    let prefix: string[] = [];
    if (process.getuid?.() === 0) {
      // Root writes anywhere: the workers run as nobody.
      if (spawnSync("setpriv", ["--version"]).status !== 0) {
        console.log("      (skipped: running as root without setpriv to drop privileges)");
        this.skip();
      }
      prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    }
    const before = [ro, broken].map((d) => fs.readdirSync(d).sort());
    fs.chmodSync(ck.dir, 0o755);
    for (const d of [ro, broken]) fs.chmodSync(d, 0o555);
    try {
      const env = { ...process.env, HOME: ck.dir };
      const [kept, fresh, retrained] = await Promise.all(
        await startWorkers(
          path.join(ck.dir, "go"),
          [
            ["train-or-load", ro, "0", "5", "kept"],
            ["train-or-load", ro, "0", "5", "tiny"],
            ["train-or-load", ro, "0", "5", "broken"],
          ],
          { prefix, env },
        ),
      );
      assert.deepEqual(
        { trained: kept!.trained, loaded: kept!.loaded, value: kept!.value },
        { trained: 0, loaded: true, value: 7 },
      );
      assert.deepEqual(kept!.warnings, []);
      assert.deepEqual(
        { trained: fresh!.trained, loaded: fresh!.loaded, value: fresh!.value },
        { trained: 1, loaded: false, value: 5 },
      );
      const w = fresh!.warnings as string[];
      assert.equal(w.length, 1);
      const folder = checkpointFolder(tinyKey(), ro);
      assert.match(
        w[0]!,
        notSaved(
          ro,
          folder,
          "permission denied \\(EACCES\\); make the folder writable, or write elsewhere",
        ),
      );
      assert.equal(retrained!.value, 5);
      assert.match(
        (retrained!.warnings as string[])[0]!,
        notSaved(
          ro,
          `${broken}/weights-[0-9a-f]{16}\\.safetensors`,
          "permission denied \\(EACCES\\); make the folder writable, or write elsewhere",
          "broken",
        ),
      );
      assert.deepEqual(
        [ro, broken].map((d) => fs.readdirSync(d).sort()),
        before,
      );
    } finally {
      for (const d of [ro, broken]) fs.chmodSync(d, 0o755);
    }
  });

  it("a full disk: the trained model is returned, nothing half-written is left", async function () {
    const disk = path.join(ck.dir, "disk");
    fs.mkdirSync(disk);
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]).status !== 0) {
      console.log("      (skipped: cannot mount a small tmpfs here; needs root)");
      this.skip();
    }
    try {
      // 160 kB of weights for a 64 kB disk.
      const { calls, fn } = tinyTraining(3, 10_000);
      const r = await trainOrLoad(tinyKey(), () => new TinyModel(0, 10_000), fn, options(disk));
      assert.equal(calls.n, 1);
      assert.equal(r.loaded, false);
      assert.equal(r.model.value(), 3);
      assert.equal(warnings.length, 1);
      const folder = checkpointFolder(tinyKey(), disk);
      assert.match(
        warnings[0]!,
        notSaved(
          disk,
          `${folder}/weights-[0-9a-f]{16}\\.safetensors`,
          "no space left on the disk \\(ENOSPC\\); free some space, or write elsewhere",
        ),
      );
      // No weights, no temporary, no lock.
      assert.deepEqual(fs.readdirSync(disk), [path.basename(folder)]);
      assert.deepEqual(fs.readdirSync(folder), []);
    } finally {
      spawnSync("umount", [disk]);
    }
  });

  it("a file where the folder should be: the trained model is returned", async () => {
    const file = path.join(ck.dir, "checkpoints");
    fs.writeFileSync(file, "");
    const { calls, fn } = tinyTraining(4);
    const r = await trainOrLoad(tinyKey(), () => new TinyModel(0), fn, options(file));
    assert.equal(r.model.value(), 4);
    assert.match(
      warnings[0]!,
      notSaved(
        file,
        checkpointFolder(tinyKey(), file),
        "a file stands where a folder is needed \\(ENOTDIR\\); move it away",
      ),
    );
    // The key's own folder is a file.
    const folder = checkpointFolder(tinyKey(), ck.dir);
    fs.writeFileSync(folder, "");
    const again = await trainOrLoad(tinyKey(), () => new TinyModel(0), fn, options(ck.dir));
    assert.equal(again.model.value(), 4);
    assert.match(
      warnings[1]!,
      notSaved(ck.dir, folder, "a file stands where a folder is needed \\(EEXIST\\); move it away"),
    );
    assert.equal(calls.n, 2);
    assert.equal(warnings.length, 2);
    assert.deepEqual(fs.readdirSync(ck.dir).sort(), ["checkpoints", path.basename(folder)]);
  });

  it("a model holding NaN is still refused, not saved with a warning", async () => {
    await assert.rejects(
      trainOrLoad(tinyKey(), () => new TinyModel(0), tinyTraining(NaN).fn, options(ck.dir)),
      /parameter layer\.weight holds NaN or Infinity; not saved/,
    );
    assert.deepEqual(warnings, []);
  });
});

describe("trainOrLoad frees the model it built when anything fails", function () {
  const ck = scratchFolder();
  const quiet = () => ({ dir: ck.dir, report: () => undefined, warn: () => undefined });
  const build = (): Sequential =>
    new Sequential(
      new Linear(4, 8, { rng: Rng.stream("test/ckpt/leak") }),
      new ReLU(),
      new Linear(8, 2, { rng: Rng.stream("test/ckpt/leak") }),
    );

  before(async () => {
    await initBackend({ quiet: true });
  });

  it("a training that throws (an interrupt) leaves no tensor", async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainOrLoad(
        tinyKey("leak"),
        build,
        () => {
          throw new Error("interrupted at epoch 1");
        },
        quiet(),
      ),
      /interrupted at epoch 1/,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  it("a save refused for NaN leaves no tensor", async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainOrLoad(
        tinyKey("leak"),
        build,
        (m) => {
          const v = m.parameters()[0] as tf.Variable;
          tf.tidy(() => v.assign(tf.fill(v.shape, NaN)));
          return tinyLogs(1);
        },
        quiet(),
      ),
      /parameter 0\.weight holds NaN or Infinity; not saved/,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  it("a model that loads or trains is returned alive", async () => {
    const r = await trainOrLoad(tinyKey("leak"), build, () => tinyLogs(1), quiet());
    const again = await trainOrLoad(tinyKey("leak"), build, () => tinyLogs(2), quiet());
    assert.equal(again.loaded, true);
    assert.deepEqual(again.model.stateDict(), r.model.stateDict());
    r.model.dispose();
    again.model.dispose();
  });
});

describe("checkpoints: concurrent processes", function () {
  this.timeout(120_000);
  const ck = scratchFolder();

  it("three concurrent savers and a reader: every save and every load succeeds", async () => {
    const savers = [1, 2, 3].map((id) => ["save", ck.dir, String(id), "30"]);
    const done = path.join(ck.dir, "savers-done");
    const [a, b, c, reader] = await startWorkers(path.join(ck.dir, "go"), [
      ...savers,
      ["load", ck.dir, done],
    ]);
    const saved = await Promise.all([a!, b!, c!]);
    fs.writeFileSync(done, "");
    const read = await reader!;
    for (const r of saved) assert.deepEqual(r, { saves: 30, errors: [] });
    // Every load read weights and logs of one same save.
    assert.deepEqual(read.errors, []);
    assert.ok((read.loads as number) > 0, JSON.stringify(read));
    const folder = checkpointFolder(tinyKey(), ck.dir);
    const files = fs.readdirSync(folder).sort();
    assert.equal(files.length, 2, files.join(", "));
    assert.match(files[1]!, /^weights-[0-9a-f]{16}\.safetensors$/);
    // No lock left behind.
    assert.deepEqual(fs.readdirSync(ck.dir).sort(), ["go", "savers-done", path.basename(folder)]);
    const m = new TinyModel(0);
    loadCheckpoint(m, tinyKey(), ck.dir);
    assert.ok([1029, 2029, 3029].includes(m.value()), `${m.value()}`);
  });

  it("concurrent trainOrLoad of one key: one trains, the others wait and load it", async () => {
    const results = await Promise.all(
      await startWorkers(
        path.join(ck.dir, "go"),
        [1, 2, 3].map((v) => ["train-or-load", ck.dir, "1500", String(v)]),
      ),
    );
    const trainer = results.filter((r) => r.trained === 1);
    assert.equal(trainer.length, 1, JSON.stringify(results));
    for (const r of results) {
      assert.equal(r.value, trainer[0]!.value);
      assert.deepEqual(r.warnings, []);
      if (r === trainer[0]) continue;
      assert.equal(r.loaded, true);
      const reports = r.reports as string[];
      assert.match(
        reports[0]!,
        /^checkpoint tiny-[0-9a-f]{16}: being trained by pid \d+ on \S+ \(training tiny-[0-9a-f]{16}\); waiting for it$/,
      );
      assert.match(reports[1]!, /^checkpoint tiny-[0-9a-f]{16}: loaded \(1 epoch logged\)$/);
    }
    assert.ok(!fs.existsSync(`${checkpointFolder(tinyKey(), ck.dir)}.lock`));
  });

  it("a lock of an ended process, of this process, or stale from elsewhere is taken over", async () => {
    const lock = `${checkpointFolder(tinyKey(), ck.dir)}.lock`;
    const holders = [
      { pid: endedPid(), host: os.hostname(), why: "a process that has ended", ageS: 0 },
      // An interrupted call of this very process.
      { pid: process.pid, host: os.hostname(), why: "a process that has ended", ageS: 0 },
      // Another machine's process that stopped refreshing it 10 minutes ago.
      { pid: 1, host: "elsewhere", why: "not refreshed for 600 s", ageS: 600 },
    ];
    for (const [i, h] of holders.entries()) {
      fs.rmSync(checkpointFolder(tinyKey(), ck.dir), { recursive: true, force: true });
      ck.lines.length = 0;
      fs.writeFileSync(lock, JSON.stringify({ pid: h.pid, host: h.host, what: "training" }));
      const then = new Date(Date.now() - h.ageS * 1000);
      fs.utimesSync(lock, then, then);
      const t0 = Date.now();
      const { calls, fn } = tinyTraining(i);
      const r = await trainOrLoad(tinyKey(), () => new TinyModel(0), fn, ck);
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      assert.equal(calls.n, 1);
      assert.equal(r.model.value(), i);
      assert.equal(
        ck.lines[0],
        `checkpoint ${path.basename(checkpointFolder(tinyKey(), ck.dir))}: taking over the lock of pid ${h.pid} on ${h.host} (training), ${h.why}`,
      );
      assert.ok(!fs.existsSync(lock));
    }
  });

  it("a live process's lock is waited for", async () => {
    const lock = `${checkpointFolder(tinyKey(), ck.dir)}.lock`;
    // Holds the lock for a second, then releases it without saving anything.
    const holder = spawn(process.execPath, [
      "-e",
      `const fs = require("fs");
       fs.writeFileSync(${JSON.stringify(lock)}, JSON.stringify({ pid: process.pid, host: require("os").hostname(), what: "training" }));
       setTimeout(() => fs.rmSync(${JSON.stringify(lock)}), 1000);`,
    ]);
    const closed = new Promise((r) => holder.on("close", r));
    while (!fs.existsSync(lock)) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    const { calls, fn } = tinyTraining(1);
    await trainOrLoad(tinyKey(), () => new TinyModel(0), fn, ck);
    assert.ok(Date.now() - t0 > 700, `waited only ${Date.now() - t0} ms`);
    assert.equal(calls.n, 1);
    assert.match(
      ck.lines[0]!,
      new RegExp(`being trained by pid ${holder.pid} on .*; waiting for it$`),
    );
    await closed;
  });

  it("a save removes temporaries of killed saves, never a live writer's", async () => {
    saveCheckpoint(new TinyModel(1), tinyKey(), tinyLogs(1), ck.dir);
    const folder = checkpointFolder(tinyKey(), ck.dir);
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    await new Promise((r) => live.on("spawn", r));
    const gone = endedPid();
    const killed = [
      `manifest.json.${gone}.7.tmp`,
      `weights-0123456789abcdef.safetensors.${gone}.6.tmp`,
      // Renamed in place, killed before its manifest was.
      "weights-fedcba9876543210.safetensors",
    ];
    const writing = `weights-00000000000000aa.safetensors.${live.pid}.1.tmp`;
    for (const f of [...killed, writing]) fs.writeFileSync(path.join(folder, f), "x");
    try {
      saveCheckpoint(new TinyModel(2), tinyKey(), tinyLogs(2), ck.dir);
      const files = fs.readdirSync(folder).sort();
      assert.equal(files.length, 3, files.join(", "));
      assert.deepEqual(files.slice(0, 2), ["manifest.json", writing]);
      assert.match(files[2]!, /^weights-[0-9a-f]{16}\.safetensors$/);
      const m = new TinyModel(0);
      loadCheckpoint(m, tinyKey(), ck.dir);
      assert.equal(m.value(), 2);
    } finally {
      live.kill();
    }
  });

  it("a load that races a save reads the new manifest again", () => {
    saveCheckpoint(new TinyModel(1), tinyKey(), tinyLogs(1), ck.dir);
    const { readFileSync } = nodeFs;
    let raced = false;
    // Another process saves between this load's reading of the manifest and of the weights.
    nodeFs.readFileSync = ((file: nodeFs.PathOrFileDescriptor, ...rest: []) => {
      if (!raced && /weights-\w+\.safetensors$/.test(String(file))) {
        raced = true;
        nodeFs.readFileSync = readFileSync;
        saveCheckpoint(new TinyModel(2), tinyKey(), tinyLogs(2), ck.dir);
      }
      return readFileSync(file, ...rest);
    }) as typeof readFileSync;
    const m = new TinyModel(0);
    try {
      const logs = loadCheckpoint(m, tinyKey(), ck.dir);
      assert.equal(logs?.log.getColumn("train_loss").toArray()[0], 2);
    } finally {
      nodeFs.readFileSync = readFileSync;
    }
    assert.ok(raced);
    assert.equal(m.value(), 2);
  });

  it("flushes the folder after each rename into it", () => {
    const folder = checkpointFolder(tinyKey(), ck.dir);
    const events: string[] = [];
    const opened = new Map<number, string>();
    const { openSync, fsyncSync, renameSync } = nodeFs;
    nodeFs.openSync = (
      file: nodeFs.PathLike,
      flags: nodeFs.OpenMode,
      mode?: nodeFs.Mode | null,
    ) => {
      const fd = openSync(file, flags, mode);
      opened.set(fd, String(file));
      return fd;
    };
    nodeFs.fsyncSync = (fd: number): void => {
      events.push(`fsync ${opened.get(fd)}`);
      fsyncSync(fd);
    };
    nodeFs.renameSync = (from: nodeFs.PathLike, to: nodeFs.PathLike): void => {
      events.push(`rename ${String(to)}`);
      renameSync(from, to);
    };
    try {
      saveCheckpoint(new TinyModel(1), tinyKey(), tinyLogs(1), ck.dir);
    } finally {
      Object.assign(nodeFs, { openSync, fsyncSync, renameSync });
    }
    const renames = events.filter((e) => e.startsWith("rename"));
    assert.equal(renames.length, 2);
    assert.match(renames[1]!, /manifest\.json$/);
    for (const r of renames) {
      assert.equal(events[events.indexOf(r) + 1], `fsync ${folder}`, events.join("\n"));
    }
  });
});

describe("checkpoints: validated before anything is assigned", function () {
  const ck = scratchFolder();

  interface Manifest {
    weights: { file: string; bytes: number; sha256: string };
    [field: string]: unknown;
  }
  const manifestPath = (key: CheckpointKey): string =>
    path.join(checkpointFolder(key, ck.dir), "manifest.json");
  const readManifest = (key: CheckpointKey): Manifest =>
    JSON.parse(fs.readFileSync(manifestPath(key), "utf8")) as Manifest;

  /** Puts `bytes` in the key's folder as its weights file, the manifest updated to match. */
  function replaceWeights(key: CheckpointKey, bytes: Uint8Array): void {
    const m = readManifest(key);
    const folder = checkpointFolder(key, ck.dir);
    fs.rmSync(path.join(folder, m.weights.file));
    const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
    m.weights = { file: `weights-${sha256.slice(0, 16)}.safetensors`, bytes: bytes.length, sha256 };
    fs.writeFileSync(path.join(folder, m.weights.file), bytes);
    fs.writeFileSync(manifestPath(key), JSON.stringify(m));
  }

  /** The key's weights file with its safetensors header changed by `edit`. */
  function editedHeader(key: CheckpointKey, edit: (h: Record<string, any>) => void): Buffer {
    const buf = fs.readFileSync(
      path.join(checkpointFolder(key, ck.dir), readManifest(key).weights.file),
    );
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, any>;
    edit(header);
    // Padded to the same length when shorter, so that only the offsets differ.
    const json = Buffer.from(JSON.stringify(header).padEnd(n));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([length, json, buf.subarray(8 + n)]);
  }

  /** loadCheckpoint fails with a CheckpointError matching `message`; the model is untouched. */
  function refused(key: CheckpointKey, message: RegExp): void {
    const fresh = new TinyModel(-1);
    assert.throws(
      () => loadCheckpoint(fresh, key, ck.dir),
      (e: unknown) => e instanceof CheckpointError && message.test(e.message),
    );
    assert.equal(fresh.value(), -1);
  }

  it("swapped or overlapping offsets in the weights file are refused", () => {
    const key = tinyKey();
    saveCheckpoint(new TinyModel(1), key, tinyLogs(1), ck.dir);
    const swapped = editedHeader(key, (h) => {
      const w = h["layer.weight"].data_offsets;
      h["layer.weight"].data_offsets = h["layer.bias"].data_offsets;
      h["layer.bias"].data_offsets = w;
    });
    // Changed in place: its sha256 no longer matches.
    const file = path.join(checkpointFolder(key, ck.dir), readManifest(key).weights.file);
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, swapped);
    refused(key, /weights file does not match its sha256/);
    fs.writeFileSync(file, original);
    // A consistent manifest does not help: the byte ranges do not fit the shapes.
    replaceWeights(key, swapped);
    refused(key, /tensor "layer\.\w+" \[\d+(, \d+)?\] has bytes \d+\.\.\d+ of 60/);
    saveCheckpoint(new TinyModel(1), key, tinyLogs(1), ck.dir);
    replaceWeights(
      key,
      editedHeader(key, (h) => {
        h["layer.bias"].data_offsets = [40, 52];
      }),
    );
    refused(key, /tensor "layer\.bias" starts at byte 40, expected 48/);
  });

  it("a weights file holding NaN or Infinity is refused, naming the tensor, then retrained", async () => {
    const key = tinyKey();
    saveCheckpoint(new TinyModel(1), key, tinyLogs(1), ck.dir);
    for (const [bad, name, at] of [
      [NaN, "layer.bias", 2],
      [Infinity, "layer.weight", 5],
    ] as const) {
      const state = new TinyModel(1).stateDict();
      (state.get(name) as { values: Float32Array }).values[at - 1] = bad;
      replaceWeights(
        key,
        encodeSafetensors(state, { format: "dlc7-checkpoint", key: checkpointHash(key) }),
      );
      refused(
        key,
        new RegExp(
          `weights-\\w+\\.safetensors: parameter ${name.replace(".", "\\.")} holds ${bad} \\(value ${at} of \\d+\\): weights of a diverged training, not loaded$`,
        ),
      );
    }
    const r = await trainOrLoad(
      key,
      () => new TinyModel(-1),
      (m) => {
        m.loadStateDict(new TinyModel(3).stateDict());
        return tinyLogs(3);
      },
      ck,
    );
    assert.equal(r.loaded, false);
    assert.equal(r.model.value(), 3);
    assert.match(ck.lines[0] ?? "", /parameter layer\.weight holds Infinity .*; retraining$/);
  });

  it("a weights file of another key is refused", () => {
    saveCheckpoint(new TinyModel(1), tinyKey("a"), tinyLogs(1), ck.dir);
    saveCheckpoint(new TinyModel(2), tinyKey("b"), tinyLogs(2), ck.dir);
    const other = readManifest(tinyKey("b")).weights.file;
    replaceWeights(
      tinyKey("a"),
      fs.readFileSync(path.join(checkpointFolder(tinyKey("b"), ck.dir), other)),
    );
    refused(
      tinyKey("a"),
      new RegExp(
        `weights file weights-\\w+\\.safetensors belongs to checkpoint ${checkpointHash(tinyKey("b"))}, not this one`,
      ),
    );
  });

  it("a manifest with a wrong type in any field is a CheckpointError, then retrained", async () => {
    const key = tinyKey();
    saveCheckpoint(new TinyModel(1), key, fakeLogs, ck.dir);
    const good = fs.readFileSync(manifestPath(key), "utf8");
    const DELETE = Symbol("delete");
    const cases: Array<[Array<string | number>, unknown[]]> = [
      [[], [null, 5, "manifest", [], true]],
      [["format"], [DELETE, null, 1, "other", [], {}]],
      [["version"], [DELETE, null, "2", 3, 2.5, []]],
      [["hash"], [DELETE, null, 5, "xyz", [], {}]],
      [["key"], [DELETE, null, 5, "key", [], {}]],
      [
        ["key", "seed"],
        [null, "1", 2],
      ],
      [["created"], [DELETE, null, 5, [], {}]],
      [["weights"], [DELETE, null, 5, "weights", [], {}]],
      [
        ["weights", "file"],
        [DELETE, null, 5, "../manifest.json", "weights-0000000000000000.safetensors", []],
      ],
      [
        ["weights", "bytes"],
        [DELETE, null, "60", -1, 1.5, 1e300, []],
      ],
      [
        ["weights", "sha256"],
        [DELETE, null, 5, "abc", "0".repeat(64), []],
      ],
      [["log"], [DELETE, null, 5, "rows", {}]],
      [
        ["log", 0],
        [null, 5, "row", [], [1, 2]],
      ],
      [["log", 1, "seconds"], [DELETE]],
      [
        ["log", 0, "epoch"],
        [DELETE, null, "1", 1.5, -1, 2 ** 40, true, {}, []],
      ],
      [
        ["log", 0, "steps"],
        [null, 0.5],
      ],
      [
        ["log", 0, "train_loss"],
        ["1", true, {}, []],
      ],
      [["history"], [DELETE, null, 5, {}]],
      [
        ["history", 1],
        [null, {}],
      ],
      [
        ["history", 0, "step"],
        [null, "300", 2.5],
      ],
      [
        ["history", 0, "epoch"],
        ["0.5", []],
      ],
    ];
    let n = 0;
    for (const [where, values] of cases) {
      for (const value of values) {
        const m = JSON.parse(good) as Record<string | number, unknown>;
        let parent: Record<string | number, unknown> = m;
        for (const k of where.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
        const last = where[where.length - 1];
        const broken =
          last === undefined
            ? value
            : (value === DELETE ? delete parent[last] : (parent[last] = value), m);
        fs.writeFileSync(manifestPath(key), JSON.stringify(broken));
        const what = `${where.join(".") || "(the manifest)"} = ${value === DELETE ? "(missing)" : JSON.stringify(value)}`;
        const fresh = new TinyModel(-1);
        assert.throws(
          () => loadCheckpoint(fresh, key, ck.dir),
          (e: unknown) => e instanceof CheckpointError,
          what,
        );
        assert.equal(fresh.value(), -1, what);
        n++;
      }
    }
    assert.ok(n > 80);
    // Numbers JSON reads as Infinity.
    for (const [field, value] of [
      ['"seed": 1', '"seed": 1e400'],
      [/"bytes": \d+/, '"bytes": 1e400'],
      ['"epoch": 1,', '"epoch": 1e400,'],
    ] as const) {
      fs.writeFileSync(manifestPath(key), good.replace(field, value));
      assert.notEqual(fs.readFileSync(manifestPath(key), "utf8"), good);
      refused(key, /./);
    }
    // trainOrLoad retrains over it.
    ck.lines.length = 0;
    const { calls, fn } = tinyTraining(3);
    const r = await trainOrLoad(key, () => new TinyModel(0), fn, ck);
    assert.equal(calls.n, 1);
    assert.equal(r.model.value(), 3);
    assert.match(ck.lines[0]!, /; retraining$/);
  });
});
