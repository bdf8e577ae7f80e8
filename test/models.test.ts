import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  AutoEncoder,
  EncoderDecoder,
  MNISTUpscaler,
  MnistClassifier,
  decodeAll,
  encodeAll,
  lectureDecoder,
  lectureEncoder,
  reconstructAll,
} from "../lib/models";
import { agreement } from "../lib/metrics";
import { Rng } from "../lib/random";

/** The lecture's table of tensor sizes for d = 8 (encoder, then decoder). */
const LECTURE_SIZES = [
  "1 x 28 x 28",
  "32 x 24 x 24",
  "32 x 20 x 20",
  "32 x 9 x 9",
  "32 x 4 x 4",
  "8 x 1 x 1",
  "32 x 4 x 4",
  "32 x 9 x 9",
  "32 x 20 x 20",
  "32 x 24 x 24",
  "1 x 28 x 28",
];

describe("models", function () {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("AutoEncoder prints the lecture's architecture", () => {
    const ae = new AutoEncoder({ embeddingDim: 8, seed: 0 });
    const lines = ae.describe().split("\n");
    assert.equal(lines[0], "AutoEncoder(");
    assert.equal(lines[1], "  (encoder): Sequential(");
    assert.equal(lines[2], "    (0): Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1))");
    assert.equal(lines[6], "    (4): Conv2d(32, 32, kernel_size=(4, 4), stride=(2, 2))");
    assert.equal(lines[10], "    (8): Conv2d(32, 8, kernel_size=(4, 4), stride=(1, 1))");
    assert.equal(lines[13], "    (0): ConvTranspose2d(8, 32, kernel_size=(4, 4), stride=(1, 1))");
    assert.equal(lines[15], "    (2): ConvTranspose2d(32, 32, kernel_size=(3, 3), stride=(2, 2))");
    assert.equal(lines[21], "    (8): ConvTranspose2d(32, 1, kernel_size=(5, 5), stride=(1, 1))");
    assert.equal(lines.length, 24);
    ae.dispose();
  });

  it("AutoEncoder's size table is the lecture's (1x28x28 ... 8x1x1 ... 1x28x28)", () => {
    const ae = new AutoEncoder({ embeddingDim: 8, seed: 0 });
    const rows = ae.summaryRows().filter((r) => r.parameters > 0);
    assert.deepEqual([rows[0]!.input, ...rows.map((r) => r.output)], LECTURE_SIZES);
    const summary = ae.summary();
    const printed = summary.split("\n").filter((l) => /^  \d+ x \d+ x \d+$/.test(l));
    // Both tables print the code size: encoder's last line, decoder's first.
    assert.deepEqual(
      printed.map((l) => l.trim()),
      [...LECTURE_SIZES.slice(0, 6), ...LECTURE_SIZES.slice(5)],
    );
    assert.match(summary, /Parameters: 112,457$/);
    ae.dispose();
  });

  it("AutoEncoder has PyTorch's parameter count for every d (104,257 + 1,025 d)", () => {
    for (const d of [2, 4, 8, 16, 32]) {
      const ae = new AutoEncoder({ embeddingDim: d, seed: 0 });
      assert.equal(ae.parameterCount(), 104257 + 1025 * d, `d = ${d}`);
      ae.dispose();
    }
  });

  it("encode gives [N, d, 1, 1], decode [N, 1, 28, 28], forward = decode(encode), no leak", () => {
    const ae = new AutoEncoder({ embeddingDim: 4, nbChannels: 8, seed: 3 });
    const x = tf.randomUniform([3, 1, 28, 28], 0, 1, "float32", 7) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const z = ae.encode(x);
    assert.deepEqual(z.shape, [3, 4, 1, 1]);
    const y = ae.decode(z);
    assert.deepEqual(y.shape, [3, 1, 28, 28]);
    const f = ae.forward(x);
    assert.deepEqual(Array.from(f.dataSync()), Array.from(y.dataSync()));
    tf.dispose([z, y, f]);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(
      () => ae.encode(tf.zeros([1, 1, 14, 14]) as tf.Tensor4D),
      /expected images \[N, 1, 28, 28\]/,
    );
    x.dispose();
    ae.dispose();
  });

  it("encodeAll / decodeAll / reconstructAll work in batches and match one big call", () => {
    const ae = new AutoEncoder({ embeddingDim: 3, nbChannels: 4, seed: 5 });
    const x = tf.randomUniform([7, 1, 28, 28], 0, 1, "float32", 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const z1 = ae.encode(x);
    const z3 = encodeAll(ae, x, 3);
    const y1 = ae.decode(z1);
    const y3 = decodeAll(ae, z3, 2);
    const r3 = reconstructAll(ae, x, 4);
    assert.deepEqual(z3.shape, [7, 3, 1, 1]);
    const diff = (a: tf.Tensor, b: tf.Tensor): number =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    assert.ok(diff(z1, z3) < 1e-5 && diff(y1, y3) < 1e-5 && diff(y1, r3) < 1e-5);
    tf.dispose([z1, z3, y1, y3, r3]);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    ae.dispose();
  });

  it("is seeded: same seed, same weights; another seed, other weights", () => {
    const a = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const b = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 1 });
    const c = new AutoEncoder({ embeddingDim: 2, nbChannels: 4, seed: 2 });
    const w = (m: AutoEncoder): number[] => Array.from(m.parameters()[0]!.dataSync());
    assert.deepEqual(w(a), w(b));
    assert.notDeepEqual(w(a), w(c));
    assert.deepEqual(a.config, { model: "AutoEncoder", nbChannels: 4, embeddingDim: 2, seed: 1 });
    [a, b, c].forEach((m) => m.dispose());
  });

  it("MNISTUpscaler maps 1x14x14 to 1x28x28 through 32x1x1 (the lecture's 7.3 table)", () => {
    const up = new MNISTUpscaler({ seed: 0 });
    const rows = up.summaryRows().filter((r) => r.parameters > 0);
    assert.deepEqual(
      [rows[0]!.input, ...rows.map((r) => r.output)],
      [
        "1 x 14 x 14",
        "32 x 10 x 10",
        "32 x 6 x 6",
        "32 x 3 x 3",
        "32 x 1 x 1",
        "32 x 4 x 4",
        "32 x 9 x 9",
        "32 x 20 x 20",
        "32 x 24 x 24",
        "1 x 28 x 28",
      ],
    );
    assert.match(up.describe(), /\(6\): Conv2d\(32, 32, kernel_size=\(3, 3\), stride=\(1, 1\)\)/);
    up.dispose();
  });

  it("builds a VAE from the pieces: encoder to 2d channels, decoder from d", () => {
    const rng = Rng.stream("test/vae");
    const vae = new EncoderDecoder(
      "VariationalAutoEncoder",
      lectureEncoder({ nbChannels: 8, outChannels: 2 * 5, rng }),
      lectureDecoder({ nbChannels: 8, inChannels: 5, rng }),
      [1, 28, 28],
      { model: "vae" },
    );
    const rows = vae.summaryRows().filter((r) => r.parameters > 0);
    assert.equal(rows[4]!.output, "10 x 1 x 1");
    assert.equal(rows[5]!.input, "5 x 1 x 1");
    vae.dispose();
  });

  it("MnistClassifier: logits [N, 10], probabilities sum to 1, read gives the argmax and its probability", () => {
    const clf = new MnistClassifier({ nbChannels: 4, nbHidden: 16, seed: 0 });
    const x = tf.randomUniform([7, 1, 28, 28], 0, 1, "float32", 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const p = clf.probabilities(x, 3);
    assert.deepEqual(p.shape, [7, 10]);
    const rowsums = tf.sum(p, 1);
    for (const s of rowsums.dataSync()) assert.ok(Math.abs(s - 1) < 1e-5);
    const { labels: pred, confidence: conf } = clf.read(x, 3);
    assert.deepEqual(clf.predict(x, 2), pred);
    const pv = p.arraySync();
    pred.forEach((k, i) => {
      assert.equal(Math.max(...pv[i]!), pv[i]![k]);
      assert.ok(Math.abs(conf[i]! - pv[i]![k]!) < 1e-6);
    });
    tf.dispose([p, rowsums]);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(agreement([1, 2, 3, 4], [1, 2, 0, 4]), 0.75);
    assert.throws(() => agreement([1], [1, 2]), /one length/);
    x.dispose();
    clf.dispose();
  });
});
