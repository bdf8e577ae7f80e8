/**
 * Our CPU kernels against the reference `cpu` backend: the wasm backend's (XNNPACK with our
 * convolution gradients) and the native addon's (oneDNN), values and gradients over random
 * shapes, strides, paddings, dilations and batch 1 (relative error <= 1e-4), and no leaks.
 * The native rows are skipped, saying why, when the addon is not built (DLC_REQUIRE_NATIVE=1,
 * as in CI, makes that a failure).
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { backendReport, initBackend } from "../lib/backend";
import { loadNative } from "../lib/backend/native";
import { registerNativeKernels, setNativeKernels } from "../lib/backend/native-kernels";
import { registerWasmKernels } from "../lib/backend/wasm-kernels";
import { AutoEncoder } from "../lib/models";
import { decodeSafetensors, encodeSafetensors } from "../lib/nn/safetensors";
import { Rng } from "../lib/random";
import { halfSumSquaredError } from "../lib/training/losses";
import {
  agree,
  convOutputs,
  convTransposeOutputs,
  on,
  randomArray,
  randomConvCase,
  relErr,
  size,
  weightedGrads,
  type TestBackend,
} from "./helpers/backends";

const TOL = 1e-4;

/** Whether the native kernels can run here; registers them (and ours for wasm) once. */
function nativeAvailable(): string | null {
  const native = loadNative();
  if (!native.ok) return native.reason;
  registerWasmKernels();
  registerNativeKernels(native.addon);
  return null;
}

for (const backend of ["wasm", "native"] as TestBackend[]) {
  describe(`${backend} kernels vs cpu`, function () {
    this.timeout(120000);
    before(async function () {
      await initBackend({ quiet: true });
      registerWasmKernels();
      if (backend === "native") {
        const why = nativeAvailable();
        if (why !== null) {
          if (process.env.DLC_REQUIRE_NATIVE === "1") throw new Error(`native kernels: ${why}`);
          console.log(`      skipped: ${why}`);
          this.skip();
        }
      }
    });
    after(async () => {
      await initBackend({ quiet: true });
      // The native kernels stay on only where the backend chosen is the native one.
      setNativeKernels(backendReport()?.name === "native");
    });

    it("conv2d: values and gradients (x, w) over 150 random cases", async () => {
      const rng = Rng.stream("test/kernels/conv2d");
      for (let t = 0; t < 150; t++) {
        const c = randomConvCase(rng);
        const xv = randomArray(rng, size(c.x));
        const wv = randomArray(rng, size(c.w));
        await agree(backend, `case ${t} ${JSON.stringify(c)}`, () => convOutputs(c, xv, wv), TOL);
      }
    });

    it("conv2dTranspose: values and gradients over 100 random cases", async () => {
      const rng = Rng.stream("test/kernels/conv2dTranspose");
      for (let t = 0; t < 100; t++) {
        const c = randomConvCase(rng);
        const transposed = convTransposeOutputs(c);
        if (transposed === null) continue;
        const yv = randomArray(rng, size(transposed.yShape));
        const wv = randomArray(rng, size(c.w));
        await agree(backend, `case ${t} ${JSON.stringify(c)}`, () => transposed.run(yv, wv), TOL);
      }
    });

    it("fused conv2d: bias and each activation over 40 random cases", async () => {
      const rng = Rng.stream("test/kernels/fused");
      const activations = ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu"] as const;
      for (let t = 0; t < 40; t++) {
        const c = randomConvCase(rng);
        if (c.rounding !== undefined) continue;
        const activation = activations[t % activations.length]!;
        const xv = randomArray(rng, size(c.x));
        const wv = randomArray(rng, size(c.w));
        const bv = randomArray(rng, c.w[3]);
        const run = (): tf.Tensor[] => [
          tf.fused.conv2d({
            x: tf.tensor4d(xv, c.x),
            filter: tf.tensor4d(wv, c.w),
            strides: c.strides,
            pad: c.pad as "valid",
            dilations: c.dilations,
            bias: tf.tensor1d(bv),
            activation,
            leakyreluAlpha: 0.1,
          }),
        ];
        await agree(backend, `case ${t} ${activation} ${JSON.stringify(c)}`, run, TOL);
      }
    });

    it("matMul: transposes, batches (broadcast), bias and activation; values and gradients", async () => {
      const rng = Rng.stream("test/kernels/matmul");
      for (let t = 0; t < 40; t++) {
        const [m, k, n] = [1 + rng.int(9), 1 + rng.int(9), 1 + rng.int(9)];
        const [ta, tb] = [rng.int(2) === 1, rng.int(2) === 1];
        const batch = 1 + rng.int(3);
        const batchA = rng.int(3) === 0 ? 1 : batch;
        const batchB = batchA === 1 ? batch : rng.int(3) === 0 ? 1 : batch;
        const aShape = [batchA, ...(ta ? [k, m] : [m, k])];
        const bShape = [batchB, ...(tb ? [n, k] : [k, n])];
        const av = randomArray(rng, size(aShape));
        const bv = randomArray(rng, size(bShape));
        const biasv = randomArray(rng, n);
        const fused = t % 2 === 1;
        // tfjs-backend-wasm 4.22's fused matMul with a bias is right only for one matrix
        // without transpose flags (errors of 3 on N(0, 1) data otherwise); lib/nn's Linear
        // asks for nothing else. The addon's is right on all of them.
        if (fused && (ta || tb || batch > 1) && backend === "wasm") continue;
        const run = (): tf.Tensor[] => {
          const a = tf.tensor(av, aShape);
          const b = tf.tensor(bv, bShape);
          if (fused) {
            const bias = tf.tensor1d(biasv);
            return [
              tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: "relu" }),
            ];
          }
          // tfjs's gradient of a broadcast batch has the wrong shape: values only there.
          if (batchA !== batchB) return [tf.matMul(a, b, ta, tb)];
          return weightedGrads((x, y) => tf.matMul(x!, y!, ta, tb), [a, b]);
        };
        await agree(backend, `case ${t} a ${aShape} b ${bShape} ${ta} ${tb}`, run, TOL);
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
        await agree(backend, `shape ${shape} axes ${axes}`, run, 1e-5);
      }
    });

    it("concat and split on every axis: 60 random cases", async () => {
      const rng = Rng.stream("test/kernels/concat-split");
      for (let t = 0; t < 60; t++) {
        const rank = 1 + rng.int(4);
        const shape = Array.from({ length: rank }, () => 1 + rng.int(5));
        const axis = rng.int(rank);
        const widths = Array.from({ length: 1 + rng.int(3) }, () => 1 + rng.int(4));
        const parts = widths.map((w) => shape.map((d, i) => (i === axis ? w : d)));
        const values = parts.map((p) => randomArray(rng, size(p)));
        const run = (): tf.Tensor[] => {
          const ts = parts.map((p, i) => tf.tensor(values[i]!, p));
          const joined = tf.concat(ts, axis);
          const back = tf.split(joined, widths, axis);
          const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.concat([x, x], axis), 2)))(joined);
          return [joined, ...back, g];
        };
        await agree(backend, `case ${t} ${JSON.stringify(parts)} axis ${axis}`, run, 0);
      }
    });

    it("slice: 200 random cases of rank 1-4 and three dtypes equal the cpu backend's", async () => {
      const rng = Rng.stream("kernels/slice", 0);
      for (let c = 0; c < 200; c++) {
        const rank = 1 + rng.int(4);
        const shape = Array.from({ length: rank }, () => 1 + rng.int(6));
        const begin = shape.map((n) => rng.int(n));
        const sz = shape.map((n, k) => (rng.next() < 0.3 ? -1 : 1 + rng.int(n - begin[k]!)));
        const dtype = (["float32", "int32", "bool"] as const)[c % 3]!;
        const values = Array.from({ length: size(shape) }, () => rng.int(5) - 2);
        const run = () => [tf.slice(tf.tensor(values, shape, dtype), begin, sz)];
        const [want] = await on("cpu", run);
        const [got] = await on(backend, run);
        assert.deepEqual(Array.from(got!), Array.from(want!), `case ${c}: ${shape} ${begin} ${sz}`);
      }
    });

    it("max/avg pooling, bilinear resize, concat: values and gradients", async () => {
      const rng = Rng.stream("test/kernels/pool");
      for (let t = 0; t < 20; t++) {
        // Square images: the cpu reference's ResizeBilinearGrad swaps H and W otherwise.
        const side = 3 + rng.int(8);
        const shape: [number, number, number, number] = [
          1 + rng.int(2),
          side,
          side,
          1 + rng.int(3),
        ];
        const v = randomArray(rng, size(shape)); // negative maxima included
        const k = 1 + rng.int(3);
        const s = 1 + rng.int(3);
        const pad = rng.int(2) === 0 ? "valid" : "same";
        const f = (a: tf.Tensor): tf.Tensor => {
          const a4 = a as tf.Tensor4D;
          const m = tf.maxPool(a4, k, s, pad);
          const p = tf.avgPool(a4, k, s, pad);
          // (nearest is checked below: the cpu reference's gradient is wrong for N, C > 1)
          const up = tf.image.resizeBilinear(m, [shape[1], shape[2]]);
          const bi = tf.image.resizeBilinear(p, [shape[1], shape[2]]);
          return tf.concat([up, bi, a4], 3);
        };
        const run = (): tf.Tensor[] => weightedGrads(f, [tf.tensor4d(v, shape)]);
        await agree(backend, `case ${t} ${shape} k ${k} s ${s} ${pad}`, run, TOL);
      }
    });

    it("nearest x2 upsampling: the gradient sums each 2 x 2 block", async () => {
      const [N, C] = [2, 3];
      const r = tf.range(0, N * 100 * C).reshape([N, 10, 10, C]);
      const rv = r.dataSync();
      const [g] = await on(backend, () => {
        const x = tf.zeros([N, 5, 5, C]) as tf.Tensor4D;
        const f = (a: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [10, 10]), r));
        return [tf.grad(f)(x)];
      });
      r.dispose();
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
                want += rv[((n * 10 + 2 * i + di) * 10 + 2 * j + dj) * C + c]!;
              }
              assert.equal(g![((n * 5 + i) * 5 + j) * C + c], want);
            }
          }
        }
      }
    });

    it("odd sizes: a strided conv that ignores the last rows has zero gradient there", async () => {
      // 11 x 11 input, k 4, stride 3: the last row and column are in no window.
      const run = (): tf.Tensor[] => {
        const x = tf.randomNormal([2, 11, 11, 3], 0, 1, "float32", 1) as tf.Tensor4D;
        const w = tf.randomNormal([4, 4, 3, 2], 0, 1, "float32", 2) as tf.Tensor4D;
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 3, "valid")),
        )([x, w]);
        return [gx!, gw!, gx!.slice([0, 10, 0, 0], [2, 1, 11, 3])];
      };
      const want = await on("cpu", run);
      const got = await on(backend, run);
      assert.ok(relErr(got[0]!, want[0]!) <= TOL);
      assert.ok(relErr(got[1]!, want[1]!) <= TOL);
      assert.ok(
        got[2]!.every((v) => v === 0),
        "the ignored last row must get no gradient",
      );
    });

    it("a kernel after the heap grew reads and writes the new heap", async () => {
      const rng = Rng.stream("test/kernels/heap-growth");
      const c = randomConvCase(rng);
      const xv = randomArray(rng, size(c.x));
      const wv = randomArray(rng, size(c.w));
      const want = await on("cpu", () => convOutputs(c, xv, wv));
      const got = await on(backend, () => {
        // 256 MB more than the heap holds now: the wasm memory grows (and may move).
        const big = tf.zeros([64 * 1024 * 1024]);
        const out = convOutputs(c, xv, wv);
        big.dispose();
        return out;
      });
      for (let i = 0; i < want.length; i++) assert.ok(relErr(got[i]!, want[i]!) <= TOL);
    });

    it("a model trained here loads on the other path and gives the same outputs", async function () {
      if (backend !== "native") this.skip(); // the native path's checkpoints on wasm
      setNativeKernels(true);
      await tf.setBackend("wasm");
      const model = new AutoEncoder({ nbChannels: 8, embeddingDim: 4, seed: 3 });
      const x = tf.randomUniform([16, 1, 28, 28], 0, 1, "float32", 4) as tf.Tensor4D;
      const opt = tf.train.adam(1e-3);
      for (let i = 0; i < 5; i++) {
        opt.minimize(() => halfSumSquaredError(model.forward(x), x), false, model.parameters());
      }
      // Saved as a checkpoint saves it, loaded into a fresh model.
      const bytes = encodeSafetensors(model.stateDict());
      const loaded = new AutoEncoder({ nbChannels: 8, embeddingDim: 4, seed: 9 });
      loaded.loadStateDict(decodeSafetensors(bytes).tensors);
      const [want] = await on("native", () => [model.forward(x)]);
      const [got] = await on("wasm", () => [loaded.forward(x)]);
      assert.ok(relErr(got!, want!) <= TOL, `relative error ${relErr(got!, want!)}`);
      tf.dispose([x]);
      opt.dispose();
      model.dispose();
      loaded.dispose();
    });

    it("signals arriving while the addon computes are safe (delivered after the kernel)", async function () {
      if (backend !== "native") this.skip(); // the addon's own hazard
      this.timeout(120000);
      // A child multiplies matrices on one thread (oneDNN's sgemm) while it receives 150
      // signals: unguarded, a signal in sgemm corrupted the heap (abort, 3 runs in 3).
      const script = `
        const tf = require("@tensorflow/tfjs");
        const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "backend"))});
        const { mapBatches } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "data", "batches"))});
        let n = 0;
        process.on("SIGUSR2", () => n++);
        initBackend({ quiet: true }).then(async () => {
          const x = tf.randomNormal([6000, 784], 0, 1, "float32", 1);
          const w = tf.randomNormal([784, 784], 0, 0.03, "float32", 2);
          console.log("ready");
          const t0 = Date.now();
          while (Date.now() - t0 < 5000) mapBatches(x, 20, (b) => tf.matMul(tf.matMul(b, w), w)).dispose();
          await new Promise((r) => setTimeout(r, 200));
          console.log("done " + n);
        });`;
      const child = spawn(process.execPath, ["--import", "tsx", "-e", script], {
        env: { ...process.env, DLC_THREADS: "1", DLC_BACKEND: "native" },
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve) => {
        const wait = setInterval(() => {
          if (out.includes("ready")) {
            clearInterval(wait);
            resolve();
          }
        }, 50);
      });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent++ < 150 && child.exitCode === null) child.kill("SIGUSR2");
      }, 20);
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      clearInterval(timer);
      assert.equal(code, 0, out);
      assert.match(out, /done \d+/);
    });

    it("no leak: tensors and wasm heap flat over 30 training steps", async () => {
      const previous = setNativeKernels(backend === "native");
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
            return tf.mean(tf.square(tf.concat([y, y], 3)));
          },
          true,
          [w1, w2],
        );
        cost?.dispose();
      };
      const heapSize = (): number =>
        (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
      for (let i = 0; i < 3; i++) step();
      const { numTensors, numBytes } = tf.memory();
      const heap = heapSize();
      for (let i = 0; i < 30; i++) step();
      assert.equal(tf.memory().numTensors, numTensors);
      assert.equal(tf.memory().numBytes, numBytes);
      assert.equal(heapSize(), heap, "wasm heap grew");
      tf.dispose([w1, w2, x]);
      opt.dispose();
      setNativeKernels(previous);
    });
  });
}
