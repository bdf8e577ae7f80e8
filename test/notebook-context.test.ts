/**
 * The notebook context: experiments as data (every ingredient of a training changes its
 * checkpoint key; a child of a retrained parent is retrained), claims recorded with their
 * models, and what cells keep freed on re-run.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { GaussianNoise, corruptionTransform } from "../lib/corruptions";
import { subset, type Dataset } from "../lib/data";
import { MLP } from "../lib/models";
import { NotebookContext, type TrainSpec, type Trained } from "../lib/notebook";
import { settings } from "../lib/settings";
import { TRAINING_VERSION } from "../lib/training/key";
import { meanAbsoluteError, meanSquaredError, reconstructionLoss } from "../lib/training/losses";
import { readManifest } from "../lib/viz/manifest";

describe("notebook context: experiments as data", function () {
  this.timeout(120000);
  let dir: string;
  let nb: NotebookContext;
  let points: tf.Tensor2D;
  let otherPoints: tf.Tensor2D;
  const log = console.log;

  before(async () => {
    const backend = await initBackend({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-context-"));
    const run = { ...settings, checkpointDir: dir, figuresDir: path.join(dir, "figures") };
    nb = new NotebookContext("7.9", backend, { ...run, quick: true });
    points = tf.randomNormal([64, 2], 0, 1, "float32", 1) as tf.Tensor2D;
    otherPoints = tf.randomNormal([64, 2], 0, 1, "float32", 2) as tf.Tensor2D;
    console.log = () => {}; // trainOrLoad's one-line reports
  });

  after(() => {
    console.log = log;
    tf.dispose([points, otherPoints]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const base = (): TrainSpec<MLP> => ({
    name: "mlp",
    model: (seed) => new MLP({ sizes: [2, 8, 2], seed }),
    loss: reconstructionLoss(meanSquaredError),
    train: { inputs: points },
    batchSize: 16,
    label: "test",
  });

  it("the same experiment loads its checkpoint; each ingredient changed trains anew", async () => {
    const first = await nb.trainOrLoad(base());
    assert.equal(first.loaded, false);
    const again = await nb.trainOrLoad(base());
    assert.equal(again.loaded, true);
    assert.equal(again.checkpoint, first.checkpoint);
    assert.equal(again.content, first.content, "the same weights");
    const parent = await nb.trainOrLoad({ ...base(), name: "base-parent" });
    const noise = (sigma: number) =>
      corruptionTransform(new GaussianNoise({ sigma }), { stream: "noise" });
    const variants: Record<string, Partial<TrainSpec<MLP>>> = {
      model: { model: (seed) => new MLP({ sizes: [2, 9, 2], seed }) },
      loss: { loss: reconstructionLoss(meanAbsoluteError) },
      "logged terms": { loss: reconstructionLoss(meanSquaredError, { l1: meanAbsoluteError }) },
      data: { train: { inputs: otherPoints } },
      "input transform": { inputTransform: noise(0.1) },
      "its corruption's parameter": { inputTransform: noise(0.2) },
      "its stream": {
        inputTransform: corruptionTransform(new GaussianNoise({ sigma: 0.1 }), { stream: "x" }),
      },
      "target transform": { targetTransform: noise(0.1) },
      epochs: { epochs: 2 },
      "batch size": { batchSize: 32 },
      "learning rate": { learningRate: 1e-2 },
      steps: { maxSteps: 3 },
      init: { init: parent },
    };
    const hashes = new Set([first.checkpoint]);
    for (const [what, change] of Object.entries(variants)) {
      const trained = await nb.trainOrLoad({ ...base(), ...change });
      assert.equal(trained.loaded, false, `a new ${what} must train again`);
      assert.ok(!hashes.has(trained.checkpoint), `a new ${what} must give a new key`);
      hashes.add(trained.checkpoint);
    }
    // The run seed (DLC_SEED).
    const seeded = new NotebookContext("7.9", nb.backend, { ...nb.settings, seed: 7 });
    const other = await seeded.trainOrLoad(base());
    assert.equal(other.loaded, false, "another seed trains again");
    assert.ok(!hashes.has(other.checkpoint));
  });

  it("the key holds the training code's version and the parts' configs", async () => {
    const t = await nb.trainOrLoad({ ...base(), inputTransform: undefined });
    const folder = fs.readdirSync(dir).find((f) => f.endsWith(t.checkpoint))!;
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, folder, "manifest.json"), "utf8"));
    assert.equal(manifest.key.training.version, TRAINING_VERSION);
    assert.deepEqual(manifest.key.training.loss, {
      loss: "reconstruction",
      error: "meanSquaredError",
      logged: {},
    });
    assert.match(manifest.key.dataset.train.content, /^[0-9a-f]{16}$/);
  });

  it("a child of a parent retrained since is retrained, not loaded", async () => {
    const parent = await nb.trainOrLoad({ ...base(), name: "parent" });
    const child = (p: Trained<MLP>) => nb.trainOrLoad({ ...base(), name: "child", init: p });
    assert.equal((await child(parent)).loaded, false);
    assert.equal((await child(parent)).loaded, true, "the same parent: loaded");
    // (Training "parent" again frees this one, as re-running its cell would.)
    // The parent trained again differently (another spec: other weights).
    const retrained = await nb.trainOrLoad({ ...base(), name: "parent", epochs: 3 });
    assert.notEqual(retrained.content, parent.content);
    assert.equal((await child(retrained)).loaded, false, "a retrained parent retrains the child");
    // The parent's checkpoint replaced under the same key by other weights (a retraining on
    // another machine): its content changed, so the child trains again.
    const replaced: Trained<MLP> = { ...retrained, content: "0123456789abcdef" };
    assert.equal((await child(replaced)).loaded, false);
  });

  it("the child starts from the parent's weights", async () => {
    const parent = await nb.trainOrLoad({ ...base(), name: "parent2", epochs: 2 });
    const child = await nb.trainOrLoad({ ...base(), name: "child2", init: parent, maxSteps: 1 });
    // After one step of Adam (lr 1e-3) the weights are within 1e-3 of the parent's.
    const [p, c] = [parent.model.stateDict(), child.model.stateDict()];
    for (const [name, v] of p) {
      const w = c.get(name)!.values;
      v.values.forEach((x, i) => assert.ok(Math.abs(x - w[i]!) <= 1.1e-3, name));
    }
  });

  it("data enter the key by their content: a subset is other data, the same subset the same", () => {
    const fake = (content: string): Dataset => ({
      name: "mnist",
      split: "train",
      images: tf.zeros([4, 1, 2, 2]) as tf.Tensor4D,
      labels: new Int32Array(4),
      size: 4,
      classNames: [],
      source: "fake",
      isSubset: false,
      content,
      nouns: { item: "digit", items: "digits" },
    });
    const d = fake("aaaa");
    const [a, b, c] = [
      subset(d, Int32Array.from([0, 1])),
      subset(d, Int32Array.from([0, 1])),
      subset(d, Int32Array.from([1, 0])),
    ];
    assert.equal(a.content, b.content);
    assert.notEqual(a.content, c.content, "the order of the items is part of the data");
    assert.notEqual(a.content, subset(fake("bbbb"), Int32Array.from([0, 1])).content);
    tf.dispose([d.images, a.images, b.images, c.images]);
  });

  it("claims print one line and are recorded with the models behind them; quick mode says what it cannot check", async () => {
    const lines: string[] = [];
    console.log = (line: string) => lines.push(line);
    try {
      nb.claim(true, "a true claim", "x 1.00", "y 2.00");
      nb.claim(false, "a false claim");
      nb.claimAtFullScale(true, "a claim for full data", "n 10");
    } finally {
      console.log = () => {};
    }
    assert.deepEqual(lines, [
      "confirmed: a true claim (x 1.00; y 2.00)",
      "not confirmed: a false claim",
      "not checked in quick mode: a claim for full data (n 10)",
    ]);
    const claims = readManifest(nb.settings.figuresDir).claims ?? [];
    const recorded = claims.find((c) => c.text === "a true claim")!;
    assert.equal(recorded.verdict, "confirmed");
    assert.deepEqual(recorded.evidence, ["x 1.00", "y 2.00"]);
    assert.ok(recorded.models !== undefined && /^[0-9a-f]{16}$/.test(recorded.models.mlp ?? ""));
    const full = new NotebookContext("7.9", nb.backend, { ...nb.settings, quick: false });
    console.log = (line: string) => lines.push(line);
    try {
      full.claimAtFullScale(false, "a claim for full data");
    } finally {
      console.log = () => {};
    }
    assert.equal(lines.at(-1), "not confirmed: a claim for full data");
  });

  it("printError prints what a call refuses, and refuses a call that does not throw", () => {
    const lines: string[] = [];
    console.log = (line: string) => lines.push(line);
    try {
      nb.printError(() => {
        throw new Error("stride must be positive");
      });
    } finally {
      console.log = () => {};
    }
    assert.deepEqual(lines, ["stride must be positive"]);
    assert.throws(() => nb.printError(() => 1), /did not throw/);
  });

  it("keep: a value kept again under its name frees the previous one; maps and arrays too", () => {
    const before = tf.memory().numTensors;
    nb.keep("x", tf.ones([3]));
    nb.keep("x", tf.ones([3]));
    nb.keep("m", new Map([[1, tf.ones([2])]]));
    nb.keep("m", new Map([[1, tf.ones([2])]]));
    const same = nb.keep("s", tf.ones([1]));
    nb.keep("s", same); // the same tensor again: kept, not freed
    assert.equal(same.isDisposed, false);
    assert.equal(tf.memory().numTensors, before + 3);
    tf.engine().startScope();
    const inScope = nb.keep("u", tf.ones([1]));
    tf.engine().endScope();
    assert.equal(inScope.isDisposed, false, "kept tensors outlive the cell's scope");
  });
});
