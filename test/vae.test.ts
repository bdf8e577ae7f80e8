import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { AutoEncoder } from "../lib/models";
import { VAE, activeUnits, reparameterize, splitMuLogvar, vaeKl, vaeLoss } from "../lib/models/vae";
import { Rng } from "../lib/random";
import { halfSumSquaredError, reconstructionLoss, type StepContext } from "../lib/training/losses";
import { evaluate } from "../lib/training/evaluate";
import { type LogRow, train } from "../lib/training/train";
import { blobs } from "./helpers/blobs";

const ctx = (training: boolean, seed = 7): StepContext => ({
  training,
  seed: () => seed,
  epoch: 1,
  step: 1,
});

const value = (t: tf.Tensor): number => t.dataSync()[0]!;

/** Sets the encoder's last conv so that mu = mu0 + (untouched) and logvar = logvar0 exactly. */
function setPosteriorBias(vae: VAE, mu0: number | null, logvar0: number): void {
  const d = vae.embeddingDim;
  const state = vae.stateDict();
  const w = state.get("encoder.8.weight")!;
  const b = state.get("encoder.8.bias")!;
  const perChannel = w.values.length / (2 * d);
  w.values.fill(0, d * perChannel); // logvar rows: no dependence on the input
  for (let j = 0; j < d; j++) {
    if (mu0 !== null) b.values[j] = mu0;
    b.values[d + j] = logvar0;
  }
  vae.loadStateDict(state);
}

describe("VAE (7.4)", function () {
  this.timeout(120000);
  let images: tf.Tensor4D;
  let testImages: tf.Tensor4D;

  before(async () => {
    await initBackend({ quiet: true });
    const rng = Rng.stream("test/vae/data");
    images = blobs(240, rng);
    testImages = blobs(60, rng);
  });

  after(() => tf.dispose([images, testImages]));

  it("is the 7.2 architecture with 2d encoder outputs; encode = mu, forward = decode(mu)", () => {
    const vae = new VAE({ embeddingDim: 5, nbChannels: 8, seed: 1 });
    const ae = new AutoEncoder({ embeddingDim: 5, nbChannels: 8, seed: 1 });
    assert.match(vae.describe(), /\(8\): Conv2d\(8, 10, kernel_size=\(4, 4\)/);
    assert.match(vae.describe(), /\(decoder\): Sequential\(\n\s+\(0\): ConvTranspose2d\(5, 8,/);
    // The extra encoder channels: 5 more 8 x 4 x 4 filters and biases.
    assert.equal(vae.parameterCount(), ae.parameterCount() + 5 * (8 * 16 + 1));
    const sizes = vae.summaryRows().filter((r) => r.parameters > 0);
    assert.equal(sizes[4]!.output, "10 x 1 x 1");
    assert.equal(sizes[5]!.input, "5 x 1 x 1");
    const x = testImages.slice(0, 6);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const param = vae.encodeParams(x);
      assert.deepEqual(param.shape, [6, 10, 1, 1]);
      const { mu, logvar } = vae.posterior(x);
      // The lecture's split: the first half of dim 1 is mu, the second logvar.
      const [m, lv] = splitMuLogvar(param);
      assert.deepEqual(mu.arraySync(), param.slice([0, 0, 0, 0], [-1, 5, -1, -1]).arraySync());
      assert.deepEqual(logvar.arraySync(), lv.arraySync());
      assert.deepEqual(vae.encode(x).arraySync(), m.arraySync());
      // Inference uses mu: deterministic, and the same as decode(encode(x)).
      const y = vae.forward(x);
      assert.deepEqual(y.shape, [6, 1, 28, 28]);
      assert.deepEqual(vae.forward(x).arraySync(), y.arraySync());
      const viaMu = vae.decode(vae.encode(x));
      assert.ok(tf.max(tf.abs(tf.sub(viaMu, y))).dataSync()[0]! < 1e-5);
    });
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => new VAE({ embeddingDim: 0 }), /embeddingDim must be a positive integer/);
    tf.dispose([x]);
    vae.dispose();
    ae.dispose();
  });

  it("activeUnits: a strict threshold, 0.01 by default", () => {
    assert.deepEqual(activeUnits([0.5, 0.01, 0.0100001, 0]), [0, 2]);
    assert.deepEqual(activeUnits([0.5, 0.2], 0.3), [0]);
    assert.throws(() => activeUnits([NaN]), /dimension 0 is NaN/);
  });

  it("vaeKl: the lecture's kl_loss, and its terms per dimension summing to it", () => {
    const mu = tf.tensor4d([1, 0, 0.5, -2], [2, 2, 1, 1]);
    const logvar = tf.tensor4d([0, Math.log(2), -1, 0.3], [2, 2, 1, 1]);
    const kl = (m: number, lv: number): number => 0.5 * (m * m + Math.exp(lv) - 1 - lv);
    const { total, perDimension } = vaeKl(mu, logvar);
    const per = perDimension.arraySync();
    const expected = [(kl(1, 0) + kl(0.5, -1)) / 2, (kl(0, Math.log(2)) + kl(-2, 0.3)) / 2];
    per.forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-6, `dim ${j}: ${v}`));
    assert.ok(Math.abs(value(total) - per[0]! - per[1]!) < 1e-6);
    assert.throws(() => vaeKl(mu, logvar.reshape([2, 2])), /same shape/);
    tf.dispose([mu, logvar, total, perDimension]);
  });

  it("the closed-form KL matches a Monte-Carlo estimate of E_q[log q(z) - log p(z)]", () => {
    const rng = new Rng(17);
    const n = 3;
    const d = 4;
    const muV = Array.from({ length: n * d }, () => rng.normal(0, 1.5));
    const lvV = Array.from({ length: n * d }, () => rng.uniform(-3, 1.5));
    const mu = tf.tensor4d(muV, [n, d, 1, 1]);
    const logvar = tf.tensor4d(lvV, [n, d, 1, 1]);
    const { total, perDimension } = vaeKl(mu, logvar);
    const closed = perDimension.arraySync();
    tf.dispose([total, perDimension]);
    const samples = 200000;
    for (let j = 0; j < d; j++) {
      let sum = 0;
      let sum2 = 0;
      for (let i = 0; i < n; i++) {
        const m = muV[i * d + j]!;
        const lv = lvV[i * d + j]!;
        const s = Math.exp(0.5 * lv);
        for (let k = 0; k < samples; k++) {
          const eps = rng.normal();
          const z = m + s * eps;
          // log N(z; m, s^2) - log N(z; 0, 1)
          const r = (-0.5 * lv - 0.5 * eps * eps + 0.5 * z * z) / n;
          sum += r;
          sum2 += r * r * n;
        }
      }
      const mean = sum / samples;
      const se = Math.sqrt((sum2 / samples - mean * mean) / samples);
      assert.ok(
        Math.abs(mean - closed[j]!) < 5 * se,
        `dim ${j}: Monte Carlo ${mean} ± ${se}, closed form ${closed[j]}`,
      );
    }
    tf.dispose([mu, logvar]);
  });

  it("the fit term's gradient reaches the encoder through z = mu + sigma eps, not through a detached z", () => {
    const vae = new VAE({ embeddingDim: 3, nbChannels: 4, seed: 2 });
    const x = testImages.slice(0, 8);
    const encoderVars = vae.encoder.parameters();
    const decoderVars = vae.decoder.parameters();
    const fitGrads = (detach: boolean): { enc: number[]; dec: number[]; logvarRows: number } =>
      tf.tidy(() => {
        const { value: v, grads } = tf.variableGrads(() => {
          const [mu, logvar] = splitMuLogvar(vae.encodeParams(x));
          const z = reparameterize(mu, logvar, 5);
          // Detached: the same sample as a constant, as if drawn outside the graph.
          const input = detach ? tf.tensor4d(z.dataSync(), z.shape) : z;
          return halfSumSquaredError(vae.decode(input), x);
        }, [...encoderVars, ...decoderVars]);
        v.dispose();
        const norm = (w: tf.Variable): number => {
          const g = grads[w.name];
          return g === undefined ? 0 : value(tf.sum(tf.abs(g)));
        };
        // The logvar half of the last encoder conv only matters through sigma in z.
        const last = grads[vae.encoder.parameters().at(-2)!.name];
        const logvarRows = last === undefined ? 0 : value(tf.sum(tf.abs(last.slice([3], [3]))));
        return { enc: encoderVars.map(norm), dec: decoderVars.map(norm), logvarRows };
      });
    const through = fitGrads(false);
    assert.ok(
      through.enc.every((g) => g > 0),
      `every encoder parameter gets a gradient: ${through.enc}`,
    );
    assert.ok(through.logvarRows > 0, "logvar's weights get a gradient through sigma");
    const detached = fitGrads(true);
    assert.ok(
      detached.enc.every((g) => g === 0),
      `no encoder gradient with z detached: ${detached.enc}`,
    );
    assert.ok(
      detached.dec.every((g) => g > 0),
      "the decoder still learns",
    );
    x.dispose();
    vae.dispose();
  });

  it("beta = 0 with a zero-variance posterior gives the autoencoder's fit term on the same weights", () => {
    const d = 3;
    const vae = new VAE({ embeddingDim: d, nbChannels: 4, seed: 3 });
    setPosteriorBias(vae, null, -100); // sigma = exp(-50): z = mu
    const ae = new AutoEncoder({ embeddingDim: d, nbChannels: 4, seed: 99 });
    const state = vae.stateDict();
    for (const name of ["encoder.8.weight", "encoder.8.bias"]) {
      const e = state.get(name)!;
      const rows = e.values.length / (2 * d);
      state.set(name, {
        shape: [d, ...e.shape.slice(1)],
        values: e.values.slice(0, d * rows),
      });
    }
    ae.loadStateDict(state);
    const x = testImages.slice(0, 10);
    tf.tidy(() => {
      const v = vaeLoss({ beta: 0 })(vae, x, x, ctx(true));
      const a = reconstructionLoss(halfSumSquaredError)(ae, x, x, ctx(true));
      const fit = value(v.terms!.fit!);
      assert.equal(value(v.loss), fit, "beta = 0: the loss is the fit term");
      // While the KL is huge: 0.5 * (mu^2 + e^-100 - 1 + 100) per dimension.
      assert.ok(value(v.terms!.kl!) > 49 * d, "KL");
      assert.ok(Math.abs(fit - value(a.loss)) < 1e-5 * fit, `${fit} vs AE ${value(a.loss)}`);
      assert.ok(tf.max(tf.abs(tf.sub(vae.forward(x), ae.forward(x)))).dataSync()[0]! < 1e-6);
    });
    x.dispose();
    vae.dispose();
    ae.dispose();
  });

  it("a short run lowers both terms from a posterior far from the prior; KL per dimension; no leak", async () => {
    const d = 4;
    const vae = new VAE({ embeddingDim: d, nbChannels: 8, seed: 4 });
    setPosteriorBias(vae, 2, 1); // KL about 0.5 * (4 + e - 1 - 1) = 2.4 nats per dimension
    const loss = vaeLoss();
    const before = await evaluate(vae, loss, { inputs: testImages }, { seed: 1 });
    assert.ok(before.kl! > 2 * d, `initial KL ${before.kl}`);
    const tensors = tf.memory().numTensors;
    const r = await train({
      model: vae,
      loss,
      train: { inputs: images },
      test: { inputs: testImages },
      epochs: 3,
      batchSize: 20,
      seed: 1,
      progress: false,
    });
    assert.equal(tf.memory().numTensors, tensors, "no tensor leaked by training");
    const rows = r.log.toRecords() as LogRow[];
    const last = rows.at(-1)!;
    assert.ok(last.test_kl! < 0.5 * before.kl!, `KL ${before.kl} -> ${last.test_kl}`);
    assert.ok(last.test_fit! < 0.95 * before.fit!, `fit ${before.fit} -> ${last.test_fit}`);
    // The KL of each latent dimension on the test set sums to the logged test_kl.
    const kls = vae.klPerDimension(testImages, 25);
    assert.equal(tf.memory().numTensors, tensors, "klPerDimension frees its tensors");
    const sum = kls.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - last.test_kl!) < 1e-4 * last.test_kl!, `${kls} vs ${last.test_kl}`);
    assert.ok(activeUnits(kls).length >= 1, `an active unit among ${kls}`);
    vae.dispose();
  });
});
