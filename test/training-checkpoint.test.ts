import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { AutoEncoder } from "../lib/models";
import {
  type CheckpointKey,
  CheckpointError,
  checkpointFolder,
  loadCheckpoint,
  saveCheckpoint,
  trainOrLoad,
} from "../lib/training/checkpoint";
import { logFrame } from "../lib/training/train";

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

describe("checkpoints", function () {
  let dir: string;
  const lines: string[] = [];
  const report = (line: string): void => void lines.push(line);

  before(async () => {
    await initBackend({ quiet: true });
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-ckpt-"));
    lines.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("round-trips parameters and the training log, leaving no temporary file", () => {
    const a = new AutoEncoder({ embeddingDim: 3, nbChannels: 4, seed: 1 });
    const b = new AutoEncoder({ embeddingDim: 3, nbChannels: 4, seed: 2 });
    assert.notDeepEqual(weights(a), weights(b));
    const folder = saveCheckpoint(a, keyFor(3), fakeLogs, dir);
    assert.equal(folder, checkpointFolder(keyFor(3), dir));
    const files = fs.readdirSync(folder).sort();
    assert.equal(files.length, 2);
    assert.equal(files[0], "manifest.json");
    assert.match(files[1]!, /^weights-[0-9a-f]{16}\.safetensors$/);
    // The parameters in float32 after the safetensors header.
    assert.ok(fs.statSync(path.join(folder, files[1]!)).size > 4 * a.parameterCount());
    const before = tf.memory().numTensors;
    const loaded = loadCheckpoint(b, keyFor(3), dir);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(weights(b), weights(a));
    assert.ok(loaded !== null);
    const { log, history } = loaded;
    assert.deepEqual(log.columns, fakeLog.columns);
    assert.deepEqual(log.getColumn("train_loss").toArray(), [20.5, 12.5]);
    assert.ok(Number.isNaN(log.getColumn("test_loss").toArray()[1] as number));
    assert.deepEqual(history.getColumn("epoch").toArray(), [0.5, 1]);
    // Saving again replaces the weights file; still two files.
    saveCheckpoint(b, keyFor(3), fakeLogs, dir);
    assert.equal(fs.readdirSync(folder).length, 2);
    a.dispose();
    b.dispose();
  });

  it("returns null when there is none; the key's parts each change the folder", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    assert.equal(loadCheckpoint(m, keyFor(2), dir), null);
    const base = checkpointFolder(keyFor(2), dir);
    const variants: CheckpointKey[] = [
      keyFor(2, 3),
      { ...keyFor(2), seed: 2 },
      { ...keyFor(2), dataset: { name: "fashion-mnist", train: 60000 } },
      { ...keyFor(2), model: { model: "AutoEncoder", nbChannels: 8, embeddingDim: 2, seed: 1 } },
    ];
    for (const k of variants) assert.notEqual(checkpointFolder(k, dir), base);
    // Key order does not matter.
    const reordered: CheckpointKey = {
      ...keyFor(2),
      training: { learningRate: 1e-3, batchSize: 100, epochs: 2 },
    };
    assert.equal(checkpointFolder(reordered, dir), base);
    assert.throws(() => checkpointFolder({ ...keyFor(2), name: "a/b" }, dir), /letters, digits/);
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
    const first = await trainOrLoad(keyFor(2), build, trainFn, { dir, report });
    assert.equal(first.loaded, false);
    const second = await trainOrLoad(keyFor(2), build, trainFn, { dir, report });
    assert.equal(second.loaded, true);
    assert.equal(trained, 1);
    assert.deepEqual(weights(second.model), weights(first.model));
    assert.equal(second.log.height, 2);
    const third = await trainOrLoad(keyFor(2, 5), build, trainFn, { dir, report });
    assert.equal(third.loaded, false);
    assert.equal(trained, 2);
    assert.match(lines[0]!, /^checkpoint ae-d2-[0-9a-f]{16}: none yet, training$/);
    assert.match(lines[2]!, /^checkpoint ae-d2-[0-9a-f]{16}: loaded \(2 epochs logged\)$/);
    [first, second, third].forEach((r) => r.model.dispose());
  });

  it("a corrupt weights file is reported in one line and retrained, never used", async () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(m, keyFor(2), fakeLogs, dir);
    const wfile = fs.readdirSync(folder).find((f) => f.startsWith("weights-"))!;
    const bytes = fs.readFileSync(path.join(folder, wfile));
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(path.join(folder, wfile), bytes);
    const fresh = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 9 });
    const untouched = weights(fresh);
    assert.throws(
      () => loadCheckpoint(fresh, keyFor(2), dir),
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
      { dir, report },
    );
    assert.equal(trained, 1);
    assert.equal(r.loaded, false);
    assert.equal(lines.length, 2);
    assert.match(
      lines[0]!,
      /^checkpoint ae-d2-[0-9a-f]{16}: weights file does not match its sha256 \(corrupt\); retraining$/,
    );
    // The retrained model replaced the corrupt checkpoint.
    const again = await trainOrLoad(
      keyFor(2),
      () => new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 }),
      () => {
        throw new Error("should load");
      },
      { dir, report },
    );
    assert.equal(again.loaded, true);
    [m, fresh, r.model, again.model].forEach((x) => x.dispose());
  });

  it("a truncated weights file or a broken manifest is reported", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(m, keyFor(2), fakeLogs, dir);
    const wfile = fs.readdirSync(folder).find((f) => f.startsWith("weights-"))!;
    fs.truncateSync(path.join(folder, wfile), 1000);
    assert.throws(() => loadCheckpoint(m, keyFor(2), dir), /weights file has 1000 bytes/);
    fs.writeFileSync(path.join(folder, "manifest.json"), '{"format": "dlc7-check');
    assert.throws(() => loadCheckpoint(m, keyFor(2), dir), /manifest.json is unreadable/);
    fs.writeFileSync(path.join(folder, "manifest.json"), "{}");
    assert.throws(() => loadCheckpoint(m, keyFor(2), dir), /not a dlc7 checkpoint manifest/);
    m.dispose();
  });

  it("a mismatched key or architecture is reported, not loaded", () => {
    const m = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(m, keyFor(2), fakeLogs, dir);
    // A manifest whose key was for another run (e.g. copied over by hand).
    const manifestPath = path.join(folder, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { key: { seed: number } };
    manifest.key.seed = 7;
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    assert.throws(() => loadCheckpoint(m, keyFor(2), dir), /key differs/);
    // Same key, other architecture (the code changed but not the key).
    saveCheckpoint(m, keyFor(2), fakeLogs, dir);
    const wider = new AutoEncoder({ embeddingDim: 2, nbChannels: 5, seed: 1 });
    const untouched = weights(wider);
    assert.throws(
      () => loadCheckpoint(wider, keyFor(2), dir),
      /size mismatch for encoder\.0\.weight: copying a param with shape \[4, 1, 5, 5\], the shape in the current model is \[5, 1, 5, 5\]/,
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
      () => saveCheckpoint(m, keyFor(2), fakeLogs, dir),
      /parameter encoder\.2\.bias holds NaN or Infinity; not saved/,
    );
    assert.equal(fs.existsSync(checkpointFolder(keyFor(2), dir)), false);
    // A malformed log is reported before any weight is assigned.
    const good = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const folder = saveCheckpoint(good, keyFor(2), fakeLogs, dir);
    const manifestPath = path.join(folder, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as { log: unknown[] };
    manifest.log = [{ epoch: "one" }];
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    const fresh = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 9 });
    const untouched = weights(fresh);
    assert.throws(
      () => loadCheckpoint(fresh, keyFor(2), dir),
      /log row 0, "epoch" is not a number/,
    );
    assert.deepEqual(weights(fresh), untouched);
    [m, good, fresh].forEach((x) => x.dispose());
  });
});
