/**
 * The webgpu backend against the reference `cpu` backend, op by op, on small random cases:
 * the ops the models of 7.1-7.4 train with, values and gradients, relative error <= 1e-3.
 * Runs on whatever adapter Dawn gives (here Mesa's llvmpipe through OpenGL ES, forced as
 * DLC_BACKEND=webgpu would); skipped, with the reason printed, when there is none.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { probeWebGpu, webGpuErrors } from "../lib/backend/webgpu";
import { Linear, ReLU, Sequential } from "../lib/nn";
import { Rng } from "../lib/random";
import { meanSquaredError, reconstructionLoss } from "../lib/training/losses";
import { train } from "../lib/training/train";
import { on, randomArray, relErr, size, weightedGrads } from "./helpers/backends";

const TOL = 1e-3;

type T4 = [number, number, number, number];

/**
 * fn on cpu and on webgpu: every output within TOL, and no GPU error (a shader that fails to
 * compile leaves zeros behind without an exception). The label says which case failed.
 */
async function agree(label: string, fn: () => tf.Tensor[], tol = TOL): Promise<void> {
  const want = await on("cpu", fn);
  const errors = webGpuErrors().length;
  let got: Float32Array[];
  try {
    got = await on("webgpu", fn);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
  assert.deepEqual(webGpuErrors().slice(errors), [], `${label}: GPU errors`);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const e = relErr(got[i] as Float32Array, want[i] as Float32Array);
    assert.ok(e <= tol, `${label}, output ${i}: relative error ${e.toExponential(2)}`);
  }
}

interface ConvCase {
  x: T4;
  w: T4;
  stride: [number, number];
  dilation: [number, number];
  pad: "valid" | "same" | [[0, 0], [number, number], [number, number], [0, 0]];
}

function randomConvCase(rng: Rng, dilate: boolean): ConvCase {
  for (;;) {
    const k: [number, number] = [1 + rng.int(5), 1 + rng.int(5)];
    const x: T4 = [1 + rng.int(3), 4 + rng.int(10), 4 + rng.int(10), 1 + rng.int(8)];
    const w: T4 = [k[0], k[1], x[3], 1 + rng.int(8)];
    // tfjs takes strides > 1 or dilations > 1, not both.
    const stride: [number, number] = dilate ? [1, 1] : [1 + rng.int(3), 1 + rng.int(3)];
    const dilation: [number, number] = dilate ? [1 + rng.int(3), 1 + rng.int(3)] : [1, 1];
    const kind = rng.int(3);
    const pad: ConvCase["pad"] =
      kind === 0
        ? "valid"
        : kind === 1
          ? "same"
          : [
              [0, 0],
              [rng.int(3), rng.int(3)],
              [rng.int(3), rng.int(3)],
              [0, 0],
            ];
    const info = tf.backend_util.computeConv2DInfo(x, w, stride, dilation, pad);
    if (info.outHeight > 0 && info.outWidth > 0) return { x, w, stride, dilation, pad };
  }
}

/** Inserts d - 1 zeros between filter taps: a dilated conv whose gradients tfjs can take. */
function dilateFilter(f: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  const [kh, kw, a, b] = f.shape;
  return f
    .reshape([kh, 1, kw, 1, a, b])
    .pad([
      [0, 0],
      [0, dh - 1],
      [0, 0],
      [0, dw - 1],
      [0, 0],
      [0, 0],
    ])
    .reshape([kh * dh, kw * dw, a, b])
    .slice([0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b]) as tf.Tensor4D;
}

describe("webgpu backend vs cpu", function () {
  this.timeout(300000);
  let previous: string | null = null;

  before(async function () {
    previous = tf.engine().backendName ?? null;
    const probe = await probeWebGpu({ allowSoftware: true });
    if (!probe.ok) {
      console.log(`      webgpu op tests skipped: ${probe.reason}`);
      this.skip();
    }
    console.log(`      webgpu adapter: ${probe.detail}`);
  });

  after(async () => {
    if (previous !== null) await tf.setBackend(previous);
  });

  it("conv2d: values and both gradients, stride and padding (40 random cases)", async () => {
    const rng = Rng.stream("test/webgpu/conv2d");
    for (let t = 0; t < 40; t++) {
      const c = randomConvCase(rng, false);
      const xv = randomArray(rng, size(c.x));
      const wv = randomArray(rng, size(c.w));
      await agree(`case ${t} ${JSON.stringify(c)}`, () =>
        weightedGrads(
          (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad),
          [tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.w)],
        ),
      );
    }
  });

  it("the lecture autoencoder's layers at their real sizes (other GPU programs than small ones)", async () => {
    const rng = Rng.stream("test/webgpu/lecture-layers");
    // 7.2's encoder and decoder on 28 x 28 MNIST, 32 channels, d = 8, batch 2.
    const layers: { x: T4; w: T4; stride: number; transposed: boolean }[] = [
      { x: [2, 28, 28, 1], w: [5, 5, 1, 32], stride: 1, transposed: false },
      { x: [2, 24, 24, 32], w: [5, 5, 32, 32], stride: 1, transposed: false },
      { x: [2, 20, 20, 32], w: [4, 4, 32, 32], stride: 2, transposed: false },
      { x: [2, 9, 9, 32], w: [3, 3, 32, 32], stride: 2, transposed: false },
      { x: [2, 4, 4, 32], w: [4, 4, 32, 8], stride: 1, transposed: false },
      { x: [2, 1, 1, 8], w: [4, 4, 32, 8], stride: 1, transposed: true },
      { x: [2, 4, 4, 32], w: [3, 3, 32, 32], stride: 2, transposed: true },
      { x: [2, 9, 9, 32], w: [4, 4, 32, 32], stride: 2, transposed: true },
      { x: [2, 24, 24, 32], w: [5, 5, 1, 32], stride: 1, transposed: true },
    ];
    for (const [i, l] of layers.entries()) {
      const [n, h, w, c] = l.x;
      const [kh, kw, a, b] = l.w;
      // conv2dTranspose's filter is [kh, kw, out, in]: its output has `a` channels.
      const out: T4 = [n, (h - 1) * l.stride + kh, (w - 1) * l.stride + kw, a];
      const xv = randomArray(rng, size(l.x));
      const wv = randomArray(rng, size(l.w)).map(
        (v) => v / Math.sqrt(kh * kw * (l.transposed ? b : c)),
      );
      await agree(`layer ${i} ${JSON.stringify(l)}`, () =>
        weightedGrads(
          (x, f) =>
            l.transposed
              ? tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, out, l.stride, "valid")
              : tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, l.stride, "valid"),
          [tf.tensor4d(xv, l.x), tf.tensor4d(wv, l.w)],
        ),
      );
    }
  });

  it("conv2d with dilation: values, and gradients through a dilated filter (20 cases)", async () => {
    const rng = Rng.stream("test/webgpu/conv2d-dilated");
    for (let t = 0; t < 20; t++) {
      const c = randomConvCase(rng, true);
      const xv = randomArray(rng, size(c.x));
      const wv = randomArray(rng, size(c.w));
      await agree(`case ${t} ${JSON.stringify(c)}`, () => {
        const x = tf.tensor4d(xv, c.x);
        const w = tf.tensor4d(wv, c.w);
        const direct = tf.conv2d(x, w, 1, c.pad, "NHWC", c.dilation);
        // tfjs has no gradient for dilation > 1: the filter with zeros inserted has one.
        const viaFilter = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
          tf.conv2d(a as tf.Tensor4D, dilateFilter(b as tf.Tensor4D, c.dilation), 1, c.pad);
        return [direct, ...weightedGrads(viaFilter, [x, w])];
      });
    }
  });

  it("conv2dTranspose: values and both gradients (30 random cases)", async () => {
    const rng = Rng.stream("test/webgpu/conv2dTranspose");
    for (let t = 0; t < 30; t++) {
      const c = randomConvCase(rng, false);
      const pad = typeof c.pad === "string" ? c.pad : "valid";
      const info = tf.backend_util.computeConv2DInfo(c.x, c.w, c.stride, 1, pad);
      const yShape: T4 = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
      const yv = randomArray(rng, size(yShape));
      const wv = randomArray(rng, size(c.w));
      await agree(`case ${t} ${JSON.stringify({ ...c, pad })}`, () =>
        weightedGrads(
          (y, w) => tf.conv2dTranspose(y as tf.Tensor4D, w as tf.Tensor4D, c.x, c.stride, pad),
          [tf.tensor4d(yv, yShape), tf.tensor4d(wv, c.w)],
        ),
      );
    }
  });

  it("max and average pooling: values and gradients, negative maxima (20 cases)", async () => {
    const rng = Rng.stream("test/webgpu/pool");
    for (let t = 0; t < 20; t++) {
      const shape: T4 = [1 + rng.int(3), 3 + rng.int(10), 3 + rng.int(10), 1 + rng.int(6)];
      const v = randomArray(rng, size(shape));
      const k = 1 + rng.int(3);
      const s = 1 + rng.int(3);
      const pad = rng.int(2) === 0 ? "valid" : "same";
      await agree(`case ${t} ${shape} k ${k} s ${s} ${pad}`, () => {
        const x = tf.tensor4d(v, shape);
        return [
          ...weightedGrads((a) => tf.maxPool(a as tf.Tensor4D, k, s, pad), [x]),
          ...weightedGrads((a) => tf.avgPool(a as tf.Tensor4D, k, s, pad), [x]),
        ];
      });
    }
  });

  it("bilinear resize (half-pixel and corner-aligned): values and gradients", async () => {
    const rng = Rng.stream("test/webgpu/resize");
    for (let t = 0; t < 12; t++) {
      // Square images: the cpu reference's ResizeBilinearGrad swaps H and W otherwise.
      const side = 2 + rng.int(8);
      const out = 1 + rng.int(20);
      const shape: T4 = [1 + rng.int(3), side, side, 1 + rng.int(4)];
      const v = randomArray(rng, size(shape));
      const half = t % 2 === 0;
      await agree(`case ${t} ${shape} -> ${out} halfPixel ${half}`, () =>
        weightedGrads(
          (a) => tf.image.resizeBilinear(a as tf.Tensor4D, [out, out], !half, half),
          [tf.tensor4d(v, shape)],
        ),
      );
    }
  });

  it("nearest upsampling: resizeNearestNeighbor, broadcast repeat, matrix resampling", async () => {
    const rng = Rng.stream("test/webgpu/nearest");
    for (let t = 0; t < 10; t++) {
      const [h, w, s] = [2 + rng.int(6), 2 + rng.int(6), 2 + rng.int(2)];
      const shape: T4 = [1 + rng.int(3), h, w, 1 + rng.int(4)];
      const [n, , , c] = shape;
      const v = randomArray(rng, size(shape));
      const a = new Float32Array(h * s * h);
      for (let i = 0; i < h * s; i++) a[i * h + Math.floor(i / s)] = 1;
      await agree(`case ${t} ${shape} x${s}`, () => {
        const x = tf.tensor4d(v, shape);
        const values = tf.image.resizeNearestNeighbor(x, [h * s, w * s]);
        // As lib's Upsample: each pixel repeated s x s times by broadcasting.
        const repeat = (z: tf.Tensor): tf.Tensor => {
          const rows = tf.broadcastTo(tf.reshape(z, [n * h, 1, w * c]), [n * h, s, w * c]);
          return tf.reshape(
            tf.broadcastTo(tf.reshape(rows, [n * h * s * w, 1, c]), [n * h * s * w, s, c]),
            [n, h * s, w * s, c],
          );
        };
        // As lib's interpolate: a resampling matrix along H, by a matrix product.
        const matrix = (z: tf.Tensor, m: tf.Tensor): tf.Tensor =>
          tf
            .matMul(z.transpose([0, 2, 3, 1]).reshape([-1, h]), m, false, true)
            .reshape([n, w, c, h * s])
            .transpose([0, 3, 1, 2]);
        return [
          values,
          ...weightedGrads(repeat, [x]),
          ...weightedGrads(matrix, [x, tf.tensor2d(a, [h * s, h])]),
        ];
      });
    }
  });

  it("resizeNearestNeighbor's gradient sums each block (checked exactly)", async () => {
    await tf.setBackend("webgpu");
    const [n, c, s] = [2, 3, 2];
    const x = tf.zeros([n, 5, 5, c]) as tf.Tensor4D;
    const r = tf.range(0, n * 10 * 10 * c).reshape([n, 10, 10, c]);
    const g = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [10, 10]), r)),
    )(x);
    const [gv, rv] = [await g.data(), await r.data()];
    tf.dispose([x, r, g]);
    for (let i = 0; i < gv.length; i++) {
      const ch = i % c;
      const col = Math.floor(i / c) % 5;
      const row = Math.floor(i / (5 * c)) % 5;
      const img = Math.floor(i / (25 * c));
      let want = 0;
      for (let di = 0; di < s; di++) {
        for (let dj = 0; dj < s; dj++) {
          want += rv[((img * 10 + s * row + di) * 10 + s * col + dj) * c + ch]!;
        }
      }
      assert.equal(gv[i], want, `gradient element ${i}`);
    }
  });

  it("concat on every axis, pad, slice, transpose: values and gradients", async () => {
    const rng = Rng.stream("test/webgpu/concat");
    for (let t = 0; t < 12; t++) {
      const shape: T4 = [1 + rng.int(3), 1 + rng.int(6), 1 + rng.int(6), 1 + rng.int(6)];
      const axis = rng.int(4);
      const other = shape.slice() as T4;
      other[axis] = 1 + rng.int(5);
      const [av, bv] = [randomArray(rng, size(shape)), randomArray(rng, size(other))];
      // At least one row of padding above: the slice below drops one row, never all.
      const p = [1 + rng.int(2), rng.int(3)];
      await agree(`case ${t} ${shape} + ${other} on axis ${axis}`, () =>
        weightedGrads(
          (a, b) =>
            tf
              .concat([a as tf.Tensor4D, b as tf.Tensor4D], axis)
              .transpose([0, 3, 1, 2])
              .pad([
                [0, 0],
                [0, 0],
                [p[0]!, p[1]!],
                [p[1]!, p[0]!],
              ])
              .slice([0, 0, 1, 0]),
          [tf.tensor4d(av, shape), tf.tensor4d(bv, other)],
        ),
      );
    }
  });

  it("the losses' ops: squared difference, sum, mean, abs, exp, log-softmax, sigmoid", async () => {
    const rng = Rng.stream("test/webgpu/losses");
    for (let t = 0; t < 8; t++) {
      const shape = [1 + rng.int(20), 1 + rng.int(40)];
      const [xv, yv] = [randomArray(rng, size(shape)), randomArray(rng, size(shape))];
      const labels = Array.from({ length: shape[0]! }, () => rng.int(shape[1]!));
      await agree(`case ${t} ${shape}`, () => {
        const x = tf.tensor(xv, shape);
        const y = tf.tensor(yv, shape);
        const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), shape[1]!);
        return [
          // 0.5 * sum((x - y)^2) / N, the lecture's reconstruction loss; MSE; MAE.
          ...weightedGrads((a, b) => tf.div(tf.sum(tf.squaredDifference(a, b)), 2 * 7), [x, y]),
          ...weightedGrads((a, b) => tf.mean(tf.square(tf.sub(a, b)), 1), [x, y]),
          ...weightedGrads((a, b) => tf.mean(tf.abs(tf.sub(a, b))), [x, y]),
          // Cross-entropy through log-softmax; the VAE's KL term; a sigmoid output layer.
          ...weightedGrads(
            (a) => tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(a)), 1))),
            [x],
          ),
          ...weightedGrads(
            (m, lv) =>
              tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, lv), tf.square(m)), tf.exp(lv)))),
            [x, y],
          ),
          ...weightedGrads((a) => tf.sigmoid(a), [x]),
          ...weightedGrads((a) => tf.tanh(tf.relu(a)), [x]),
        ];
      });
    }
  });

  it("Adam: five training steps of a small conv autoencoder give the same weights", async () => {
    const rng = Rng.stream("test/webgpu/adam");
    const shapes: T4[] = [
      [4, 4, 1, 6],
      [3, 3, 6, 3],
      [3, 3, 6, 3],
      [4, 4, 1, 6],
    ];
    const init = shapes.map((s) => randomArray(rng, size(s)).map((v) => v * 0.2));
    const biases = [6, 3, 6, 1].map((n) => randomArray(rng, n).map((v) => v * 0.1));
    const xv = Float32Array.from({ length: 8 * 12 * 12 }, () => rng.next());
    await agree("5 Adam steps", () => {
      const ws = shapes.map((s, i) => tf.variable(tf.tensor4d(init[i] as Float32Array, s)));
      const bs = biases.map((b) => tf.variable(tf.tensor1d(b)));
      const x = tf.tensor4d(xv, [8, 12, 12, 1]);
      const [w1, w2, w3, w4] = ws as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
      const [b1, b2, b3, b4] = bs as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
      const opt = tf.train.adam(1e-2);
      const losses: tf.Tensor[] = [];
      for (let step = 0; step < 5; step++) {
        const cost = opt.minimize(
          () => {
            const h1 = tf.relu(
              tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 2, "valid"), b1),
            ) as tf.Tensor4D;
            const z = tf.add(tf.conv2d(h1, w2 as tf.Tensor4D, 2, "valid"), b2) as tf.Tensor4D;
            const h2 = tf.relu(
              tf.add(tf.conv2dTranspose(z, w3 as tf.Tensor4D, [8, 5, 5, 6], 2, "valid"), b3),
            ) as tf.Tensor4D;
            const y = tf.sigmoid(
              tf.add(tf.conv2dTranspose(h2, w4 as tf.Tensor4D, [8, 12, 12, 1], 2, "valid"), b4),
            );
            return tf.div(tf.sum(tf.squaredDifference(x, y)), 2 * 8) as tf.Scalar;
          },
          true,
          [...ws, ...bs],
        );
        losses.push(cost as tf.Scalar);
      }
      const out = [tf.stack(losses), ...ws.map((w) => w.clone()), ...bs.map((b) => b.clone())];
      opt.dispose();
      tf.dispose([...ws, ...bs]);
      return out;
    });
  });

  it("frees every tensor over training steps", async () => {
    await tf.setBackend("webgpu");
    const w = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 0.1, "float32", 3));
    const x = tf.randomNormal([4, 13, 13, 2], 0, 1, "float32", 5) as tf.Tensor4D;
    const opt = tf.train.adam(1e-3);
    const step = async (): Promise<void> => {
      const cost = opt.minimize(
        () => tf.mean(tf.square(tf.conv2d(x, w as tf.Tensor4D, 2, "valid"))) as tf.Scalar,
        true,
        [w],
      );
      await cost?.data();
      cost?.dispose();
    };
    for (let i = 0; i < 2; i++) await step();
    const before = tf.memory();
    for (let i = 0; i < 10; i++) await step();
    assert.equal(tf.memory().numTensors, before.numTensors);
    assert.equal(tf.memory().numBytes, before.numBytes);
    tf.dispose([w, x]);
    opt.dispose();
  });

  it("a synchronous read of a GPU tensor is a clear error, not a crash", async () => {
    await tf.setBackend("webgpu");
    const x = tf.tidy(() => tf.relu(tf.randomNormal([64, 64], 0, 1, "float32", 1)));
    assert.throws(() => x.dataSync(), /cannot read a GPU tensor synchronously.*await tensor\.data/);
    assert.equal((await x.data()).length, 64 * 64);
    x.dispose();
  });

  it("train() runs on it (its reads are asynchronous) and logs cpu's losses", async () => {
    const data = tf.tidy(() => tf.randomUniform([60, 2], -1, 1, "float32", 3));
    const run = async (backend: string): Promise<number[]> => {
      await tf.setBackend(backend);
      const rng = Rng.stream("test/webgpu/train");
      const model = new Sequential(
        new Linear(2, 16, { rng }),
        new ReLU(),
        new Linear(16, 2, { rng }),
      );
      const inputs = tf.tensor(await data.data(), data.shape);
      const r = await train({
        model,
        loss: reconstructionLoss(meanSquaredError),
        train: { inputs },
        test: { inputs },
        epochs: 2,
        batchSize: 20,
        progress: false,
      });
      model.dispose();
      inputs.dispose();
      return [
        ...(r.log.getColumn("train_loss").toArray() as number[]),
        ...(r.log.getColumn("test_loss").toArray() as number[]),
      ];
    };
    const want = await run("cpu");
    const got = await run("webgpu");
    assert.ok(relErr(got, want) <= TOL, `webgpu ${got} vs cpu ${want}`);
    data.dispose();
  });
});
