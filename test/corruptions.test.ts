/** 7.3's corruptions: their statistics, their seeding, their errors, no tensor left behind. */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/random";
import {
  BlockMasking,
  type Corruption,
  Downscale,
  GaussianBlur,
  GaussianNoise,
  ImpulseNoise,
  PixelErasure,
  SaltAndPepper,
  corruptionTransform,
} from "../lib/corruptions";
import { gaussianKernel1d } from "../lib/corruptions/blur";
import type { StepContext } from "../lib/training/losses";

/** Images [n, c, h, w] with values uniform in [0, 1) from a seeded stream. */
function randomImages(shape: [number, number, number, number], seed = 1): tf.Tensor4D {
  const rng = new Rng(seed);
  const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next());
  return tf.tensor4d(v, shape);
}

/** Runs fn, checks it leaves exactly one new tensor (its result), returns its values. */
function values(fn: () => tf.Tensor): Float32Array {
  const before = tf.memory().numTensors;
  const y = fn();
  assert.equal(tf.memory().numTensors, before + 1, "one new tensor: the result");
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

function meanVar(v: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < v.length; i++) {
    s += v[i]!;
    s2 += v[i]! ** 2;
  }
  const mean = s / v.length;
  return { mean, variance: s2 / v.length - mean * mean };
}

const random: Corruption[] = [
  new PixelErasure({ p: 0.5 }),
  new BlockMasking({ size: 4 }),
  new GaussianNoise({ sigma: 0.3 }),
  new ImpulseNoise({ p: 0.3 }),
  new SaltAndPepper({ p: 0.1 }),
];

describe("corruptions", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  it("a seed repeats exactly, another seed draws differently, the input is untouched", () => {
    const x = randomImages([4, 2, 8, 8]);
    const x0 = x.dataSync().slice();
    for (const c of random) {
      const a = values(() => c.corrupt(x, 42));
      const b = values(() => c.corrupt(x, 42));
      const other = values(() => c.corrupt(x, 43));
      assert.deepEqual(a, b, `${c.name}: same seed`);
      assert.notDeepEqual(a, other, `${c.name}: another seed`);
      assert.deepEqual(x.dataSync(), x0, `${c.name}: input unchanged`);
    }
    x.dispose();
  });

  it("pixel erasure sets a fraction p of the pixels to 0 and keeps the others", () => {
    const x: tf.Tensor4D = tf.tidy(() => tf.add(randomImages([100, 1, 28, 28]), 0.01)); // no 0
    const xv = x.dataSync();
    for (const p of [0, 0.5, 0.9, 1]) {
      const y = values(() => new PixelErasure({ p }).corrupt(x, 7));
      let zeros = 0;
      y.forEach((v, i) => {
        if (v === 0) zeros++;
        else assert.equal(v, xv[i]);
      });
      // 78,400 pixels: the fraction's std is at most 0.0018.
      const frac = zeros / y.length;
      assert.ok(Math.abs(frac - p) < 0.01, `p = ${p}: erased ${frac}`);
    }
    x.dispose();
  });

  it("the Gaussian kernel is normalised, symmetric and truncated at 3 sigma", () => {
    for (const sigma of [0.5, 1, 2, 4]) {
      const k = gaussianKernel1d(sigma);
      const r = Math.ceil(3 * sigma);
      assert.equal(k.length, 2 * r + 1);
      assert.ok(Math.abs(k.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      for (let i = 0; i < r; i++) assert.equal(k[i], k[2 * r - i]);
      // Relative weights as exp(-i^2 / 2 sigma^2).
      const ratio = k[r + 1]! / k[r]!;
      assert.ok(Math.abs(ratio - Math.exp(-1 / (2 * sigma * sigma))) < 1e-6);
    }
  });

  it("blur equals a direct 2-D convolution with zero padding, channel by channel", () => {
    const [n, c, h, w] = [2, 2, 9, 11];
    const x = randomImages([n, c, h, w], 3);
    const xv = x.dataSync();
    for (const sigma of [0.7, 2]) {
      const k = gaussianKernel1d(sigma);
      const r = (k.length - 1) / 2;
      const y = values(() => new GaussianBlur({ sigma }).corrupt(x, 0));
      let maxErr = 0;
      for (let b = 0; b < n * c; b++) {
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            let s = 0;
            for (let di = -r; di <= r; di++) {
              for (let dj = -r; dj <= r; dj++) {
                const [ii, jj] = [i + di, j + dj];
                if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue; // zero padding
                s += k[di + r]! * k[dj + r]! * xv[(b * h + ii) * w + jj]!;
              }
            }
            maxErr = Math.max(maxErr, Math.abs(s - y[(b * h + i) * w + j]!));
          }
        }
      }
      assert.ok(maxErr < 1e-5, `sigma ${sigma}: max error ${maxErr}`);
    }
    x.dispose();
  });

  it("blur keeps the size and the mass of a centred impulse, and spreads it as sigma grows", () => {
    const x = tf.tidy(() =>
      tf
        .oneHot([14 * 28 + 14], 28 * 28)
        .reshape([1, 1, 28, 28])
        .toFloat(),
    );
    let lastPeak = 1;
    for (const sigma of [1, 2, 4]) {
      const y = values(() => new GaussianBlur({ sigma }).corrupt(x as tf.Tensor4D, 0));
      assert.equal(y.length, 28 * 28);
      assert.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-5, `sigma ${sigma}: mass`);
      const peak = y[14 * 28 + 14]!;
      assert.ok(peak < lastPeak, `sigma ${sigma}: peak ${peak}`);
      lastPeak = peak;
    }
    x.dispose();
  });

  it("block masking zeroes one k x k square per image, the same in every channel", () => {
    const [n, c, h, w, k] = [300, 2, 8, 10, 3];
    const x = tf.ones([n, c, h, w]) as tf.Tensor4D;
    const masking = new BlockMasking({ size: k });
    const y = values(() => masking.corrupt(x, 5));
    const { top, left } = masking.positions(n, h, w, 5);
    const tops = new Set<number>();
    const lefts = new Set<number>();
    for (let b = 0; b < n; b++) {
      tops.add(top[b]!);
      lefts.add(left[b]!);
      for (let ch = 0; ch < c; ch++) {
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            const inside = i >= top[b]! && i < top[b]! + k && j >= left[b]! && j < left[b]! + k;
            assert.equal(y[((b * c + ch) * h + i) * w + j], inside ? 0 : 1);
          }
        }
      }
    }
    // Every position inside the image is drawn, and none outside.
    assert.deepEqual(
      [...tops].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      [...lefts].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    x.dispose();
  });

  it("block masking draws positions uniformly (chi-square over 10,000 draws)", () => {
    const { top } = new BlockMasking({ size: 16 }).positions(10000, 28, 28, 11);
    const counts = new Array<number>(13).fill(0);
    top.forEach((t) => counts[t]!++);
    const e = 10000 / 13;
    const chi2 = counts.reduce((a, o) => a + (o - e) ** 2 / e, 0);
    // 12 degrees of freedom: P(chi2 > 32.9) = 0.001.
    assert.ok(chi2 < 32.9, `chi2 = ${chi2}, counts ${counts}`);
  });

  it("additive Gaussian noise has mean 0 and variance sigma^2", () => {
    const x = randomImages([50, 1, 28, 28]);
    const xv = x.dataSync();
    for (const sigma of [0.1, 0.5]) {
      const y = values(() => new GaussianNoise({ sigma }).corrupt(x, 9));
      const { mean, variance } = meanVar(y.map((v, i) => v - xv[i]!));
      // 39,200 draws: the mean's std is sigma / 198.
      assert.ok(Math.abs(mean) < (4 * sigma) / 198, `sigma ${sigma}: mean ${mean}`);
      assert.ok(Math.abs(variance / sigma ** 2 - 1) < 0.03, `sigma ${sigma}: variance ${variance}`);
    }
    x.dispose();
  });

  it("impulse noise replaces a fraction p of the pixels by uniform values", () => {
    const x = tf.fill([100, 1, 28, 28], 2) as tf.Tensor4D; // out of [0, 1]: replaced pixels show
    const y = values(() => new ImpulseNoise({ p: 0.3 }).corrupt(x, 13));
    const replaced = y.filter((v) => v !== 2);
    assert.ok(
      Math.abs(replaced.length / y.length - 0.3) < 0.01,
      `fraction ${replaced.length / y.length}`,
    );
    assert.ok(replaced.every((v) => v >= 0 && v < 1));
    const { mean, variance } = meanVar(replaced);
    assert.ok(
      Math.abs(mean - 0.5) < 0.01 && Math.abs(variance - 1 / 12) < 0.003,
      `${mean} ${variance}`,
    );
    x.dispose();
  });

  it("impulse noise with p < 0.5 keeps each pixel's median but moves its mean toward 0.5", () => {
    const x = randomImages([1, 1, 6, 6], 17);
    const xv = x.dataSync();
    const draws = 301;
    const p = 0.3;
    const noise = new ImpulseNoise({ p });
    const seeds = Rng.stream("test/impulse-median", 0);
    const samples = Array.from({ length: draws }, () =>
      values(() => noise.corrupt(x, seeds.seed())),
    );
    xv.forEach((v, i) => {
      const s = samples.map((d) => d[i]!).sort((a, b) => a - b);
      assert.equal(s[(draws - 1) / 2], v, `pixel ${i}: median`);
      const mean = s.reduce((a, b) => a + b, 0) / draws;
      // E = (1 - p) x + p / 2; the mean of 301 draws has std < 0.02.
      assert.ok(Math.abs(mean - ((1 - p) * v + p / 2)) < 0.07, `pixel ${i}: mean ${mean} for ${v}`);
    });
    x.dispose();
  });

  it("salt-and-pepper sets a fraction p of the pixels to 0 or 1, half each", () => {
    const x = tf.fill([100, 1, 28, 28], 0.25) as tf.Tensor4D;
    const y = values(() => new SaltAndPepper({ p: 0.1 }).corrupt(x, 19));
    const zeros = y.filter((v) => v === 0).length;
    const ones = y.filter((v) => v === 1).length;
    assert.equal(zeros + ones + y.filter((v) => v === 0.25).length, y.length);
    assert.ok(Math.abs((zeros + ones) / y.length - 0.1) < 0.005);
    assert.ok(Math.abs(zeros / (zeros + ones) - 0.5) < 0.03);
    x.dispose();
  });

  it("downscaling averages 2 x 2 blocks: [N, C, H, W] -> [N, C, H/2, W/2]", () => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 4 * 4 }, (_, i) => i),
      [1, 2, 4, 4],
    );
    const down = new Downscale({ factor: 2 });
    const y = down.corrupt(x, 0);
    assert.deepEqual(y.shape, [1, 2, 2, 2]);
    // Block (0, 0) of channel 0: (0 + 1 + 4 + 5) / 4.
    assert.deepEqual(Array.from(y.dataSync()), [2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]);
    tf.dispose([x, y]);
    const odd = tf.zeros([1, 1, 5, 4]) as tf.Tensor4D;
    assert.throws(() => down.corrupt(odd, 0), /not divisible by the factor 2/);
    odd.dispose();
  });

  it("labels, identifiers and parameters say what each corruption is", () => {
    assert.equal(new PixelErasure({ p: 0.9 }).label, "Corrupted (p = 0.9)");
    assert.equal(new GaussianBlur({ sigma: 4 }).label, "Corrupted (σ = 4)");
    assert.equal(new BlockMasking({ size: 16 }).label, "Corrupted (16×16)");
    assert.equal(new BlockMasking({ size: 16 }).setting, "16×16");
    assert.equal(new GaussianNoise({ sigma: 0.5 }).label, "Gaussian noise (σ = 0.5)");
    assert.equal(new PixelErasure({ p: 0.9 }).id, "pixel-erasure-p0.9");
    assert.equal(new BlockMasking({ size: 10 }).id, "block-masking-size10");
    assert.deepEqual(new ImpulseNoise({ p: 0.3 }).parameters, { p: 0.3 });
  });

  it("bad parameters and bad inputs get errors that say what to do", () => {
    assert.throws(() => new PixelErasure({ p: 1.5 }), /p must be in \[0, 1\], got 1.5/);
    assert.throws(() => new GaussianBlur({ sigma: 0 }), /sigma must be > 0/);
    assert.throws(() => new GaussianNoise({ sigma: NaN }), /sigma must be > 0/);
    assert.throws(() => new BlockMasking({ size: 2.5 }), /positive integer/);
    assert.throws(() => new Downscale({ factor: 1 }), /integer >= 2/);
    const flat = tf.zeros([3, 784]);
    assert.throws(
      () => new GaussianBlur({ sigma: 1 }).corrupt(flat as unknown as tf.Tensor4D),
      /expected images \[N, C, H, W\], got shape \[3, 784\]/,
    );
    const ints = tf.zeros([3, 784], "int32");
    assert.throws(() => new PixelErasure({ p: 0.5 }).corrupt(ints, 0), /expected a float32 batch/);
    ints.dispose();
    flat.dispose();
    const small = tf.zeros([1, 1, 8, 8]) as tf.Tensor4D;
    assert.throws(() => new BlockMasking({ size: 10 }).corrupt(small, 0), /does not fit in 8×8/);
    small.dispose();
  });

  it("element-wise noises take any batch: 2-D points, codes [N, d]", () => {
    const points = tf.zeros([20000, 2]);
    const noisy = new GaussianNoise({ sigma: 0.1 }).corrupt(points, 3);
    assert.deepEqual(noisy.shape, [20000, 2]);
    const { variance } = meanVar(noisy.dataSync());
    assert.ok(Math.abs(variance - 0.01) < 0.0005, `variance ${variance}`);
    const codes = new PixelErasure({ p: 0.25 }).corrupt(tf.onesLike(points), 4);
    assert.ok(Math.abs(1 - codes.mean().dataSync()[0]! - 0.25) < 0.01);
    tf.dispose([points, noisy, codes]);
  });

  it("as transforms: named streams draw independent noise; clean test targets on request", () => {
    const x = tf.zeros([2, 1, 4, 4]) as tf.Tensor4D;
    const noise = new GaussianNoise({ sigma: 1 });
    const ctx = (training: boolean): StepContext => {
      const rng = new Rng(123);
      return { training, seed: () => rng.seed(), epoch: 1, step: 1 };
    };
    const run = (stream: string, training = true, atTest = true) =>
      values(() => corruptionTransform(noise, { stream, atTest })(x, ctx(training)));
    assert.deepEqual(run("input"), run("input"));
    assert.notDeepEqual(run("input"), run("target"));
    assert.ok(
      run("target", true, false).some((v) => v !== 0),
      "noisy training targets",
    );
    const test = corruptionTransform(noise, { stream: "target", atTest: false })(x, ctx(false));
    assert.equal(test, x, "clean test targets: the batch itself");
    x.dispose();
  });
});
