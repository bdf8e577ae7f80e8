/**
 * Our wasm kernels against the reference `cpu` backend: values and gradients over random
 * shapes, strides, paddings and dilations (relative error <= 1e-4), and no leaks.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmKernels } from "../lib/backend/wasm-kernels";
import { Rng } from "../lib/random";

type Pad = "valid" | "same" | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: number[];
  w: number[];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  rounding?: "floor" | "round" | "ceil";
}

/** Max abs difference over max abs reference value (or 1 when the reference is tiny). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, "lengths differ");
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / Math.max(scale, 1e-6);
}

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Runs fn on a backend and returns the values of its outputs (tensors disposed). */
async function on(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

function randomCase(rng: Rng): Case {
  for (;;) {
    const k = [1 + rng.int(4), 1 + rng.int(4)];
    // Up to 8 channels: both the scatter (<= 4) and the convolution paths of dx.
    const c = 1 + rng.int(8);
    const o = 1 + rng.int(4);
    const x = [1 + rng.int(3), 4 + rng.int(9), 4 + rng.int(9), c];
    const strides: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const dilate = rng.int(3) === 0;
    const dilations: [number, number] = dilate ? [1 + rng.int(2), 1 + rng.int(2)] : [1, 1];
    const kind = rng.int(4);
    let pad: Pad;
    let rounding: Case["rounding"];
    if (kind === 0) pad = "valid";
    else if (kind === 1) pad = "same";
    else if (kind === 2) {
      pad = [
        [0, 0],
        [rng.int(3), rng.int(3)],
        [rng.int(3), rng.int(3)],
        [0, 0],
      ];
    } else {
      // tfjs sizes a numeric pad from the filter height and stride height alone: square only.
      pad = rng.int(3);
      rounding = (["floor", "round", "ceil"] as const)[rng.int(3)];
      // (and ignores dilation there).
      k[1] = k[0];
      strides[1] = strides[0];
      dilations[0] = dilations[1] = 1;
    }
    const c0: Case = { x, w: [k[0], k[1], c, o], strides, dilations, pad, rounding };
    // tfjs allows strides > 1 or dilations > 1, not both; keep cases with a non-empty output.
    if (dilate && (strides[0] > 1 || strides[1] > 1)) continue;
    const info = tf.backend_util.computeConv2DInfo(
      x as [number, number, number, number],
      c0.w as [number, number, number, number],
      strides,
      dilations,
      pad,
      rounding,
    );
    if (info.outHeight > 0 && info.outWidth > 0) return c0;
  }
}

describe("wasm kernels vs cpu", function () {
  this.timeout(60000);
  before(async () => {
    registerWasmKernels();
    await tf.setBackend("wasm");
  });
  after(async () => {
    await tf.setBackend("wasm");
  });

  it("conv2d: values and gradients (x, w) over 150 random cases", async () => {
    const rng = Rng.stream("test/kernels/conv2d");
    for (let t = 0; t < 150; t++) {
      const c = randomCase(rng);
      const xv = randomArray(rng, size(c.x));
      const wv = randomArray(rng, size(c.w));
      const run = (): tf.Tensor[] => {
        const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
        const w = tf.tensor4d(wv, c.w as [number, number, number, number]);
        const f = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D =>
          tf.conv2d(a, b, c.strides, c.pad, "NHWC", c.dilations, c.rounding);
        const y = f(x, w);
        // Gradients need dilation 1 in tfjs, and its conv gradients drop dimRoundingMode
        // (the cpu backend then disagrees with its own forward): compare values only.
        if (c.dilations[0] > 1 || c.dilations[1] > 1) return [y];
        if (c.rounding !== undefined && c.rounding !== "floor") return [y];
        // A fixed weighting of the outputs makes the gradients non-trivial.
        const r = tf.sin(tf.range(0, y.size).reshape(y.shape));
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), r)),
        )([x, w]);
        return [y, gx, gw];
      };
      const want = await on("cpu", run);
      let got: Float32Array[];
      try {
        got = await on("wasm", run);
      } catch (e) {
        throw new Error(`case ${t} ${JSON.stringify(c)}: ${(e as Error).message}`);
      }
      for (let i = 0; i < want.length; i++) {
        const e = relErr(got[i], want[i]);
        assert.ok(e <= 1e-4, `case ${t} ${JSON.stringify(c)} output ${i}: relative error ${e}`);
      }
    }
  });

  it("conv2dTranspose: values and gradients over 100 random cases", async () => {
    const rng = Rng.stream("test/kernels/conv2dTranspose");
    for (let t = 0; t < 100; t++) {
      const c = randomCase(rng);
      if (c.dilations[0] > 1 || c.dilations[1] > 1) continue;
      if (typeof c.pad === "object") continue; // conv2dTranspose takes valid/same/number only
      if (c.rounding !== undefined && c.rounding !== "floor") continue;
      const info = tf.backend_util.computeConv2DInfo(
        c.x as [number, number, number, number],
        c.w as [number, number, number, number],
        c.strides,
        1,
        c.pad,
        c.rounding,
      );
      const yShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
      const yv = randomArray(rng, size(yShape));
      const wv = randomArray(rng, size(c.w));
      const run = (): tf.Tensor[] => {
        const y = tf.tensor4d(yv, yShape as [number, number, number, number]);
        const w = tf.tensor4d(wv, c.w as [number, number, number, number]);
        const f = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D =>
          tf.conv2dTranspose(
            a,
            b,
            c.x as [number, number, number, number],
            c.strides,
            c.pad as "valid" | "same" | number,
            c.rounding,
          );
        const x = f(y, w);
        const r = tf.cos(tf.range(0, x.size).reshape(x.shape));
        const [gy, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), r)),
        )([y, w]);
        return [x, gy, gw];
      };
      const want = await on("cpu", run);
      let got: Float32Array[];
      try {
        got = await on("wasm", run);
      } catch (e) {
        throw new Error(`case ${t} ${JSON.stringify(c)}: ${(e as Error).message}`);
      }
      for (let i = 0; i < want.length; i++) {
        const e = relErr(got[i], want[i]);
        assert.ok(e <= 1e-4, `case ${t} ${JSON.stringify(c)} output ${i}: relative error ${e}`);
      }
    }
  });

  it("sum over leading axes (bias gradients) and over other axes", async () => {
    const rng = Rng.stream("test/kernels/sum");
    for (let t = 0; t < 30; t++) {
      const shape = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(6));
      const v = randomArray(rng, size(shape));
      const lead = rng.int(shape.length + 1);
      const axes =
        rng.int(3) === 0 ? [shape.length - 1] : Array.from({ length: lead }, (_, i) => i);
      const keepDims = rng.int(2) === 1;
      const run = (): tf.Tensor[] => [tf.sum(tf.tensor(v, shape), axes, keepDims)];
      const want = await on("cpu", run);
      const got = await on("wasm", run);
      const e = relErr(got[0] as Float32Array, want[0] as Float32Array);
      assert.ok(e <= 1e-5, `shape ${shape} axes ${axes}: relative error ${e}`);
    }
  });

  it("slice: 200 random cases of rank 1-4 and three dtypes equal the cpu backend's", async () => {
    const rng = Rng.stream("kernels/slice", 0);
    for (let c = 0; c < 200; c++) {
      const rank = 1 + rng.int(4);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(6));
      const begin = shape.map((n) => rng.int(n));
      const sz = shape.map((n, k) =>
        rng.next() < 0.3 ? -1 : 1 + rng.int(n - (begin[k] as number)),
      );
      const dtype = (["float32", "int32", "bool"] as const)[c % 3] as "float32" | "int32" | "bool";
      const values = Array.from({ length: size(shape) }, () => rng.int(5) - 2);
      const run = () => [tf.slice(tf.tensor(values, shape, dtype), begin, sz)];
      const [want] = await on("cpu", run);
      const [got] = await on("wasm", run);
      assert.deepEqual(Array.from(got!), Array.from(want!), `case ${c}: ${shape} ${begin} ${sz}`);
    }
  });

  it("max/avg pooling, bilinear resize, concat: values and gradients", async () => {
    const rng = Rng.stream("test/kernels/pool");
    for (let t = 0; t < 20; t++) {
      // Square images: the cpu reference's ResizeBilinearGrad swaps H and W otherwise.
      const side = 3 + rng.int(8);
      const shape: [number, number, number, number] = [1 + rng.int(2), side, side, 1 + rng.int(3)];
      const v = randomArray(rng, size(shape)); // negative maxima included
      const k = 1 + rng.int(3);
      const s = 1 + rng.int(3);
      const pad = rng.int(2) === 0 ? "valid" : "same";
      const run = (): tf.Tensor[] => {
        const x = tf.tensor4d(v, shape);
        const f = (a: tf.Tensor): tf.Tensor => {
          const a4 = a as tf.Tensor4D;
          const m = tf.maxPool(a4, k, s, pad);
          const p = tf.avgPool(a4, k, s, pad);
          // (nearest is checked below: the cpu reference's gradient is wrong for N, C > 1)
          const up = tf.image.resizeBilinear(m, [shape[1], shape[2]]);
          const bi = tf.image.resizeBilinear(p, [shape[1], shape[2]]);
          return tf.concat([up, bi, a4], 3);
        };
        const r = tf.sin(tf.range(0, shape[0] * shape[1] * shape[2] * shape[3] * 3));
        const y = f(x);
        const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.reshape(f(a), [-1]), r)))(x);
        return [y, gx];
      };
      const want = await on("cpu", run);
      const got = await on("wasm", run);
      for (let i = 0; i < want.length; i++) {
        const e = relErr(got[i] as Float32Array, want[i] as Float32Array);
        assert.ok(e <= 1e-4, `case ${t} ${shape} k ${k} s ${s} ${pad} output ${i}: ${e}`);
      }
    }
  });

  it("nearest x2 upsampling: the gradient sums each 2 x 2 block", async () => {
    await tf.setBackend("wasm");
    const [N, C] = [2, 3];
    const [g, rv] = tf.tidy(() => {
      const x = tf.zeros([N, 5, 5, C]) as tf.Tensor4D;
      const r = tf.range(0, N * 100 * C).reshape([N, 10, 10, C]);
      const f = (a: tf.Tensor): tf.Tensor =>
        tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [10, 10]), r));
      return [tf.grad(f)(x).dataSync(), r.dataSync()];
    });
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) {
          for (let c = 0; c < C; c++) {
            let want = 0;
            for (const [di, dj] of [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1],
            ] as const) {
              want += rv[((n * 10 + 2 * i + di) * 10 + 2 * j + dj) * C + c] as number;
            }
            assert.equal(g[((n * 5 + i) * 5 + j) * C + c], want);
          }
        }
      }
    }
  });

  it("odd sizes: a strided conv that ignores the last rows has zero gradient there", async () => {
    // 10 x 10 input, k 4, stride 3: rows/cols 0..9 are covered up to 3*2+3 = 9 -> all; use 11.
    const run = (): tf.Tensor[] => {
      const x = tf.randomNormal([2, 11, 11, 3], 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal([4, 4, 3, 2], 0, 1, "float32", 2) as tf.Tensor4D;
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 3, "valid")),
      )([x, w]);
      return [gx, gw, gx.slice([0, 10, 0, 0], [2, 1, 11, 3])];
    };
    const want = await on("cpu", run);
    const got = await on("wasm", run);
    assert.ok(relErr(got[0], want[0]) <= 1e-4);
    assert.ok(relErr(got[1], want[1]) <= 1e-4);
    assert.ok(
      got[2].every((v) => v === 0),
      "the ignored last row must get no gradient",
    );
  });

  it("no leak: tensors and wasm heap flat over 30 training steps", async () => {
    await tf.setBackend("wasm");
    const w1 = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 0.1, "float32", 3));
    const w2 = tf.variable(tf.randomNormal([4, 4, 3, 4], 0, 0.1, "float32", 4));
    const x = tf.randomNormal([4, 13, 13, 2], 0, 1, "float32", 5) as tf.Tensor4D;
    const opt = tf.train.adam(1e-3);
    const step = (): void => {
      const cost = opt.minimize(
        () => {
          const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 2, "valid"));
          const y = tf.conv2dTranspose(h, w2 as tf.Tensor4D, [4, 12, 12, 3], 2, "same");
          return tf.mean(tf.square(y));
        },
        true,
        [w1, w2],
      );
      cost?.dispose();
    };
    for (let i = 0; i < 3; i++) step();
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    for (let i = 0; i < 30; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
    const heapAfter = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8
      .length;
    assert.equal(heapAfter, heap, "wasm heap grew");
    tf.dispose([w1, w2, x]);
    opt.dispose();
  });
});
