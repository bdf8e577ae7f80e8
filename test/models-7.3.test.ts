/**
 * 7.3's models: the U-Net's table (Noise2Noise's pattern, two levels), the MNISTUpscaler as the
 * lecture prints it, the 2-D denoiser, the one-hidden-layer autoencoder and the deep MLP of
 * Vincent et al.: sizes, parameter counts (PyTorch's, from test/fixtures/denoising_torch_reference.py),
 * a short training run that lowers the loss, and no tensor left behind.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { GaussianNoise, corruptionTransform, PixelErasure, Downscale } from "../lib/corruptions";
import { openCircle } from "../lib/data";
import { FCAutoEncoder, MLP, MNISTUpscaler, UNet } from "../lib/models";
import { Rng } from "../lib/random";
import {
  classificationLoss,
  halfSumSquaredError,
  meanSquaredError,
  reconstructionLoss,
  sumSquaredError,
} from "../lib/training/losses";
import { train, type TrainOptions, type Trainable } from "../lib/training/train";

/** n images h x w of a bright bar at a random place and orientation (clear structure to learn). */
function bars(n: number, size: number, rng: Rng): tf.Tensor4D {
  const data = new Float32Array(n * size * size);
  for (let i = 0; i < n; i++) {
    const at = 1 + rng.int(size - 2);
    const vertical = rng.next() < 0.5;
    for (let j = 0; j < size; j++) {
      data[i * size * size + (vertical ? j * size + at : at * size + j)] = 1;
    }
  }
  return tf.tensor4d(data, [n, 1, size, size]);
}

/** Trains silently; returns the first and last logged training loss, checks for leaks. */
async function lossDrop<M extends Trainable>(
  options: Omit<TrainOptions<M>, "progress" | "logPoints">,
): Promise<[number, number]> {
  const before = tf.memory().numTensors;
  const r = await train({ ...options, progress: false, logPoints: 1000 });
  assert.equal(tf.memory().numTensors, before, "no tensor left by training");
  const losses = r.history.getColumn("train_loss").toArray() as number[];
  return [losses[0]!, losses[losses.length - 1]!];
}

describe("models of 7.3", function () {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("UNet follows the Noise2Noise table with two pooling levels; PyTorch's parameter count", () => {
    const u = new UNet({ seed: 0 });
    const rows = u.table();
    assert.deepEqual(
      rows.map((r) => `${r.name} ${r.channels} ${r.size}`),
      [
        "INPUT 1 1 x 28 x 28",
        "ENC_CONV0 48 48 x 28 x 28",
        "ENC_CONV1 48 48 x 28 x 28",
        "POOL1 48 48 x 14 x 14",
        "ENC_CONV2 48 48 x 14 x 14",
        "POOL2 48 48 x 7 x 7",
        "ENC_CONV3 48 48 x 7 x 7",
        "UPSAMPLE2 48 48 x 14 x 14",
        "CONCAT2 96 96 x 14 x 14",
        "DEC_CONV2A 96 96 x 14 x 14",
        "DEC_CONV2B 96 96 x 14 x 14",
        "UPSAMPLE1 96 96 x 28 x 28",
        "CONCAT1 97 97 x 28 x 28",
        "DEC_CONV1A 64 64 x 28 x 28",
        "DEC_CONV1B 32 32 x 28 x 28",
        "DEC_CONV1C 1 1 x 28 x 28",
      ],
    );
    assert.equal(
      rows.reduce((a, r) => a + r.parameters, 0),
      303601,
    );
    assert.equal(u.parameterCount(), 303601);
    assert.match(u.summary(), /DEC_CONV1C +1 +Convolution 3×3, linear act\./);
    assert.equal(u.stateDict().has("0.inner.5.inner.0.weight"), true, "ENC_CONV2's PyTorch name");
    u.dispose();
    const half = new UNet({ channels: 24, seed: 0 });
    assert.equal(half.parameterCount(), 76345);
    assert.deepEqual(
      half.table().map((r) => r.channels),
      [1, 24, 24, 24, 24, 24, 24, 24, 48, 48, 48, 48, 49, 32, 16, 1],
    );
    half.dispose();
  });

  it("UNet refuses sizes it cannot pool twice, and channel counts off the table's ratios", () => {
    const u = new UNet({ channels: 6, seed: 0 });
    const odd = tf.zeros([1, 1, 30, 30]);
    assert.throws(
      () => u.forward(odd),
      /H and W multiples of 4 \(two 2 × 2 poolings\), got \[1, 1, 30, 30\]/,
    );
    odd.dispose();
    u.dispose();
    assert.throws(() => new UNet({ channels: 20 }), /multiple of 3/);
  });

  it("a short U-Net run lowers the denoising loss", async () => {
    const x = bars(60, 12, Rng.stream("test/unet-bars", 0));
    const model = new UNet({ channels: 6, seed: 1 });
    const [first, last] = await lossDrop({
      model,
      loss: reconstructionLoss(meanSquaredError),
      train: { inputs: x },
      inputTransform: corruptionTransform(new GaussianNoise({ sigma: 0.3 }), { stream: "in" }),
      epochs: 30,
      batchSize: 20,
      learningRate: 3e-3,
      seed: 2,
    });
    assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
    model.dispose();
    x.dispose();
  });

  it("MNISTUpscaler prints as the lecture prints it; PyTorch's parameter count; learns to upscale", async () => {
    const up = new MNISTUpscaler({ seed: 0 });
    const repr = up.describe().replace(/ReLU\(\)/g, "ReLU(inplace=True)");
    assert.equal(
      repr,
      [
        "MNISTUpscaler(",
        "  (encoder): Sequential(",
        "    (0): Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1))",
        "    (1): ReLU(inplace=True)",
        "    (2): Conv2d(32, 32, kernel_size=(5, 5), stride=(1, 1))",
        "    (3): ReLU(inplace=True)",
        "    (4): Conv2d(32, 32, kernel_size=(4, 4), stride=(1, 1))",
        "    (5): ReLU(inplace=True)",
        "    (6): Conv2d(32, 32, kernel_size=(3, 3), stride=(1, 1))",
        "  )",
        "  (decoder): Sequential(",
        "    (0): ConvTranspose2d(32, 32, kernel_size=(4, 4), stride=(1, 1))",
        "    (1): ReLU(inplace=True)",
        "    (2): ConvTranspose2d(32, 32, kernel_size=(3, 3), stride=(2, 2))",
        "    (3): ReLU(inplace=True)",
        "    (4): ConvTranspose2d(32, 32, kernel_size=(4, 4), stride=(2, 2))",
        "    (5): ReLU(inplace=True)",
        "    (6): ConvTranspose2d(32, 32, kernel_size=(5, 5), stride=(1, 1))",
        "    (7): ReLU(inplace=True)",
        "    (8): ConvTranspose2d(32, 1, kernel_size=(5, 5), stride=(1, 1))",
        "  )",
        ")",
      ].join("\n"),
    );
    assert.equal(up.parameterCount(), 120641);
    up.dispose();
    const x = bars(40, 28, Rng.stream("test/upscaler-bars", 0));
    const model = new MNISTUpscaler({ nbChannels: 8, seed: 1 });
    const [first, last] = await lossDrop({
      model,
      loss: reconstructionLoss(sumSquaredError),
      train: { inputs: x },
      inputTransform: corruptionTransform(new Downscale({ factor: 2 }), { stream: "down" }),
      epochs: 15,
      batchSize: 20,
      seed: 3,
    });
    // 30 steps through a 8 x 1 x 1 bottleneck: a clear drop, not convergence.
    assert.ok(last < 0.7 * first, `loss ${first} -> ${last}`);
    model.dispose();
    x.dispose();
  });

  it("the lecture's 2-D denoiser: Linear(2, 100), ReLU, Linear(100, 2), trained on noisy points", async () => {
    const mlp = new MLP({ sizes: [2, 100, 2], seed: 0 });
    assert.equal(
      mlp.describe(),
      [
        "MLP(",
        "  (0): Linear(in_features=2, out_features=100, bias=True)",
        "  (1): ReLU()",
        "  (2): Linear(in_features=100, out_features=2, bias=True)",
        ")",
      ].join("\n"),
    );
    assert.equal(mlp.parameterCount(), 502);
    const points = openCircle(500, Rng.stream("test/circle", 0));
    const [first, last] = await lossDrop({
      model: mlp,
      loss: reconstructionLoss(meanSquaredError),
      train: { inputs: points },
      inputTransform: corruptionTransform(new GaussianNoise({ sigma: 0.1 }), { stream: "in" }),
      epochs: 40,
      seed: 4,
    });
    // From about E||x||^2 / 2 = 0.5 down to about the noise's variance, 0.01.
    assert.ok(first > 0.2 && last < 0.03, `loss ${first} -> ${last}`);
    mlp.dispose();
    points.dispose();
  });

  it("FCAutoEncoder: 784 -> h -> 784 with sigmoids, codes [N, h, 1, 1], its filters as images", async () => {
    const ae = new FCAutoEncoder({ hidden: 200, seed: 0 });
    assert.equal(ae.parameterCount(), 314584);
    const x = bars(40, 28, Rng.stream("test/fc-bars", 0));
    const codes = ae.encode(x);
    assert.deepEqual(codes.shape, [40, 200, 1, 1]);
    const filters = ae.filters();
    assert.deepEqual(filters.shape, [200, 1, 28, 28]);
    // Filter k is row k of the encoder's weight [200, 784].
    const w = ae.encoderLinear.weight.dataSync();
    assert.deepEqual(filters.dataSync().slice(784, 2 * 784), w.slice(784, 2 * 784));
    tf.dispose([codes, filters]);
    const small = new FCAutoEncoder({ hidden: 16, seed: 1 });
    const [first, last] = await lossDrop({
      model: small,
      loss: reconstructionLoss(halfSumSquaredError),
      train: { inputs: x },
      inputTransform: corruptionTransform(new PixelErasure({ p: 0.25 }), { stream: "mask" }),
      epochs: 40,
      batchSize: 20,
      learningRate: 1e-2,
      seed: 5,
    });
    assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
    const onCodes = new FCAutoEncoder({ inputSize: [16, 1, 1], hidden: 4, seed: 2 });
    const z = small.encode(x);
    const back = onCodes.forward(z);
    assert.deepEqual(back.shape, [40, 16, 1, 1], "a second layer autoencodes the first's codes");
    tf.dispose([x, z, back]);
    [ae, small, onCodes].forEach((m) => m.dispose());
  });

  it("the deep MLP takes pretrained encoders as its first layers and trains as a classifier", async () => {
    const mlp = new MLP({
      sizes: [784, 50, 30, 10],
      activation: "sigmoid",
      flatten: true,
      seed: 0,
    });
    assert.equal(
      new MLP({ sizes: [784, 500, 500, 10], activation: "sigmoid" }).parameterCount(),
      648010,
    );
    const l1 = new FCAutoEncoder({ hidden: 50, seed: 1 });
    const l2 = new FCAutoEncoder({ inputSize: [50, 1, 1], hidden: 30, seed: 2 });
    mlp.initialiseFrom([l1.encoderLinear, l2.encoderLinear]);
    assert.deepEqual(mlp.linears[1]!.weight.dataSync(), l2.encoderLinear.weight.dataSync());
    assert.deepEqual(mlp.linears[0]!.bias!.dataSync(), l1.encoderLinear.bias!.dataSync());
    assert.throws(
      () => mlp.initialiseFrom([l1.encoderLinear, l2.encoderLinear, l2.encoderLinear]),
      /the last layer is never pretrained/,
    );
    assert.throws(() => mlp.initialiseFrom([l2.encoderLinear]), /size mismatch/);
    const x = bars(60, 28, Rng.stream("test/mlp-bars", 0));
    // Label: the bar's orientation (vertical bars have a column sum of 28 somewhere).
    const labels = tf.tidy(() => tf.cast(tf.equal(tf.max(tf.sum(x, 2), [1, 2]), 28), "int32"));
    const [first, last] = await lossDrop({
      model: mlp,
      loss: classificationLoss(),
      train: { inputs: x, targets: labels },
      epochs: 30,
      batchSize: 20,
      seed: 6,
    });
    assert.ok(last < 0.5 * first, `loss ${first} -> ${last}`);
    tf.dispose([x, labels]);
    [mlp, l1, l2].forEach((m) => m.dispose());
  });
});
