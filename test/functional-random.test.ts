/**
 * Random cases (stride 1-3, padding, output padding, dilation 1-2, several channels):
 * the tfjs-based convolutions against the plain-TypeScript references, and the transposed
 * convolutions against tf.grad of the convolutions (the lecture's definition).
 */
import { strict as assert } from "node:assert";

import * as tf from "@tensorflow/tfjs";

import { initBackend } from "../lib/backend";
import {
  avgPool2d,
  conv1d,
  conv2d,
  convOutputSize,
  convTranspose1d,
  convTranspose2d,
  interpolate,
} from "../lib/nn/functional";
import {
  conv1dReference,
  conv2dReference,
  convTranspose1dReference,
  convTranspose2dReference,
  transposedConvTerms,
} from "../lib/nn/reference";
import { resamplingMatrix } from "../lib/nn/resample";
import { Rng } from "../lib/random";

type Nested = number | Nested[];

function randomNested(rng: Rng, shape: number[]): Nested {
  const [n, ...rest] = shape;
  if (n === undefined) return rng.normal();
  return Array.from({ length: n }, () => randomNested(rng, rest));
}

function maxAbsDiff(a: Nested, b: Nested): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, "shapes differ");
    return a.reduce<number>((m, ai, i) => Math.max(m, maxAbsDiff(ai, b[i] as Nested)), 0);
  }
  assert.ok(!Array.isArray(a) && !Array.isArray(b), "shapes differ");
  return Math.abs((a as number) - (b as number));
}

interface Case1d {
  n: number;
  cin: number;
  cout: number;
  w: number;
  k: number;
  stride: number;
  padding: number;
  dilation: number;
}

function random1dCase(rng: Rng): Case1d {
  for (;;) {
    const c: Case1d = {
      n: 1 + rng.int(2),
      cin: 1 + rng.int(3),
      cout: 1 + rng.int(3),
      w: 3 + rng.int(8),
      k: 1 + rng.int(4),
      stride: 1 + rng.int(3),
      padding: rng.int(3),
      dilation: 1 + rng.int(2),
    };
    if (convOutputSize(c.w, c.k, c) >= 1) return c;
  }
}

const TOL = 1e-4;

// The backend the notebooks use (wasm with our kernels here, else cpu).
before(async () => {
  await initBackend({ quiet: true });
});

describe("functional: random cases against the plain references and tf.grad", () => {
  it("convTranspose1d equals the weighted sum of translated kernels (60 cases)", () => {
    const rng = Rng.stream("test.functional.convTranspose1d");
    const before = tf.memory().numTensors;
    for (let t = 0; t < 60; t++) {
      const c = random1dCase(rng);
      const outputPadding = rng.int(Math.max(c.stride, c.dilation));
      const opts = { stride: c.stride, padding: c.padding, outputPadding, dilation: c.dilation };
      const xs = randomNested(rng, [c.n, c.cin, c.w]) as number[][][];
      const ws = randomNested(rng, [c.cin, c.cout, c.k]) as number[][][];
      const bs = randomNested(rng, [c.cout]) as number[];
      const expected = convTranspose1dReference(xs, ws, bs, opts);
      if ((expected[0]?.[0]?.length ?? 0) < 1) continue;
      const got = tf.tidy(() =>
        convTranspose1d(tf.tensor3d(xs), tf.tensor3d(ws), tf.tensor1d(bs), opts).arraySync(),
      );
      assert.ok(
        maxAbsDiff(got, expected) < TOL,
        `case ${JSON.stringify(opts)} ${JSON.stringify(c)}`,
      );
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it("transposedConvTerms' output row equals the reference (40 cases)", () => {
    const rng = Rng.stream("test.functional.terms");
    for (let t = 0; t < 40; t++) {
      const c = random1dCase(rng);
      const opts = {
        stride: c.stride,
        padding: c.padding,
        outputPadding: rng.int(Math.max(c.stride, c.dilation)),
        dilation: c.dilation,
      };
      const x = randomNested(rng, [c.w]) as number[];
      const k = randomNested(rng, [c.k]) as number[];
      const expected = convTranspose1dReference([[x]], [[k]], null, opts)[0]![0]!;
      if (expected.length < 1) continue;
      const terms = transposedConvTerms(x, k, opts);
      assert.equal(terms.rows.length, c.w + 1);
      assert.equal(terms.columnLabels.length, terms.rows[0]?.length);
      assert.equal(new Set(terms.columnLabels).size, terms.columnLabels.length);
      assert.ok(maxAbsDiff(terms.output, expected) < 1e-9, JSON.stringify(opts));
    }
  });

  it("conv1d equals the inner products (60 cases)", () => {
    const rng = Rng.stream("test.functional.conv1d");
    for (let t = 0; t < 60; t++) {
      const c = random1dCase(rng);
      const xs = randomNested(rng, [c.n, c.cin, c.w]) as number[][][];
      const ws = randomNested(rng, [c.cout, c.cin, c.k]) as number[][][];
      const bs = randomNested(rng, [c.cout]) as number[];
      const expected = conv1dReference(xs, ws, bs, c);
      const got = tf.tidy(() =>
        conv1d(tf.tensor3d(xs), tf.tensor3d(ws), tf.tensor1d(bs), c).arraySync(),
      );
      assert.ok(maxAbsDiff(got, expected) < TOL, JSON.stringify(c));
    }
  });

  it("convTranspose1d is the gradient of conv1d with respect to its input (40 cases)", () => {
    const rng = Rng.stream("test.functional.grad1d");
    for (let t = 0; t < 40; t++) {
      const c = random1dCase(rng);
      const outW = convOutputSize(c.w, c.k, c);
      // The output padding that restores W: the part of the input no window reaches.
      const outputPadding =
        c.w - ((outW - 1) * c.stride - 2 * c.padding + c.dilation * (c.k - 1) + 1);
      tf.tidy(() => {
        const x = tf.tensor3d(randomNested(rng, [c.n, c.cin, c.w]) as number[][][]);
        const w = tf.tensor3d(randomNested(rng, [c.cout, c.cin, c.k]) as number[][][]);
        const dy = tf.tensor3d(randomNested(rng, [c.n, c.cout, outW]) as number[][][]);
        const grad = tf.grad((xi: tf.Tensor) =>
          conv1d(xi as tf.Tensor3D, w, null, c)
            .mul(dy)
            .sum(),
        )(x);
        // conv weight [out, in, k] read as a transposed-conv weight [in', out', k]: same tensor.
        const viaTranspose = convTranspose1d(dy, w, null, { ...c, outputPadding });
        assert.deepEqual(viaTranspose.shape, x.shape);
        assert.ok(maxAbsDiff(grad.arraySync(), viaTranspose.arraySync()) < TOL, JSON.stringify(c));
      });
    }
  });

  it("convTranspose2d and conv2d equal the references, and convTranspose2d is conv2d's input gradient (25 cases)", () => {
    const rng = Rng.stream("test.functional.2d");
    const before = tf.memory().numTensors;
    for (let t = 0; t < 25; t++) {
      const pick = (lo: number, n: number): [number, number] => [lo + rng.int(n), lo + rng.int(n)];
      const stride = pick(1, 3);
      const dilation = pick(1, 2);
      const padding = pick(0, 2);
      const k = pick(1, 3);
      const size = pick(4, 4);
      const cin = 1 + rng.int(3);
      const cout = 1 + rng.int(3);
      const n = 1 + rng.int(2);
      const outputPadding: [number, number] = [
        rng.int(Math.max(stride[0], dilation[0])),
        rng.int(Math.max(stride[1], dilation[1])),
      ];
      const convOpts = { stride, padding, dilation };
      const outH = convOutputSize(size[0], k[0], {
        stride: stride[0],
        padding: padding[0],
        dilation: dilation[0],
      });
      const outW = convOutputSize(size[1], k[1], {
        stride: stride[1],
        padding: padding[1],
        dilation: dilation[1],
      });
      if (outH < 1 || outW < 1) continue;
      const xs = randomNested(rng, [n, cin, size[0], size[1]]) as number[][][][];
      const ws = randomNested(rng, [cout, cin, k[0], k[1]]) as number[][][][];
      const dys = randomNested(rng, [n, cout, outH, outW]) as number[][][][];
      const bs = randomNested(rng, [cin]) as number[];
      tf.tidy(() => {
        const x = tf.tensor4d(xs);
        const w = tf.tensor4d(ws);
        const dy = tf.tensor4d(dys);
        const label = JSON.stringify({
          stride,
          padding,
          dilation,
          k,
          size,
          cin,
          cout,
          outputPadding,
        });
        // Convolution against inner products.
        assert.ok(
          maxAbsDiff(
            conv2d(x, w, null, convOpts).arraySync(),
            conv2dReference(xs, ws, null, convOpts),
          ) < TOL,
          label,
        );
        // Transposed convolution (input dy, weight [cout, cin, ...] = [in, out, ...]) against the sum of kernels.
        const tOpts = { ...convOpts, outputPadding };
        const ref = convTranspose2dReference(dys, ws, bs, tOpts);
        if ((ref[0]?.[0]?.length ?? 0) > 0 && (ref[0]?.[0]?.[0]?.length ?? 0) > 0) {
          assert.ok(
            maxAbsDiff(convTranspose2d(dy, w, tf.tensor1d(bs), tOpts).arraySync(), ref) < TOL,
            label,
          );
        }
        // Against the gradient, with the output padding that restores the input size.
        const restore: [number, number] = [
          size[0] - ((outH - 1) * stride[0] - 2 * padding[0] + dilation[0] * (k[0] - 1) + 1),
          size[1] - ((outW - 1) * stride[1] - 2 * padding[1] + dilation[1] * (k[1] - 1) + 1),
        ];
        const grad = tf.grad((xi: tf.Tensor) =>
          conv2d(xi as tf.Tensor4D, w, null, convOpts)
            .mul(dy)
            .sum(),
        )(x);
        const viaTranspose = convTranspose2d(dy, w, null, { ...convOpts, outputPadding: restore });
        assert.ok(maxAbsDiff(grad.arraySync(), viaTranspose.arraySync()) < TOL, label);
      });
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it("interpolate and avgPool2d are differentiable: <L x, dy> = <x, grad> (adjoint identity)", () => {
    const rng = Rng.stream("test.functional.adjoint");
    const ops: [string, (x: tf.Tensor4D) => tf.Tensor4D][] = [
      ["nearest x2.5", (x) => interpolate(x, { scaleFactor: 2.5, mode: "nearest" })],
      ["bilinear x3", (x) => interpolate(x, { scaleFactor: 3, mode: "bilinear" })],
      ["bilinear to 7 x 4", (x) => interpolate(x, { size: [7, 4], mode: "bilinear" })],
      ["avgPool2d k3 s2 p1", (x) => avgPool2d(x, 3, { stride: 2, padding: 1 })],
    ];
    for (const [name, op] of ops) {
      tf.tidy(() => {
        const x = tf.tensor4d(randomNested(rng, [2, 3, 5, 6]) as number[][][][]);
        const shape = op(x).shape;
        const dy = tf.tensor(randomNested(rng, shape) as number[][][][], shape);
        const grad = tf.grad((xi: tf.Tensor) =>
          op(xi as tf.Tensor4D)
            .mul(dy)
            .sum(),
        )(x);
        const lhs = op(x).mul(dy).sum().dataSync()[0]!;
        const rhs = x.mul(grad).sum().dataSync()[0]!;
        assert.ok(
          Math.abs(lhs - rhs) < 1e-3 * Math.max(1, Math.abs(lhs)),
          `${name}: ${lhs} vs ${rhs}`,
        );
      });
    }
  });

  it("resampling matrices have rows summing to 1", () => {
    for (const [inSize, outSize, scale] of [
      [2, 6, 1 / 3],
      [5, 7, 5 / 7],
      [7, 3, 7 / 3],
    ] as const) {
      for (const mode of ["nearest", "bilinear"] as const) {
        const a = resamplingMatrix(inSize, outSize, scale, mode);
        for (let j = 0; j < outSize; j++) {
          const row = a.slice(j * inSize, (j + 1) * inSize);
          assert.ok(
            Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-6,
            `${mode} ${inSize}->${outSize} row ${j}`,
          );
        }
      }
    }
  });

  it("gradients flow through convTranspose2d to input and weight", () => {
    tf.tidy(() => {
      const rng = Rng.stream("test.functional.grad-flow");
      const x = tf.tensor4d(randomNested(rng, [1, 2, 3, 3]) as number[][][][]);
      const w = tf.tensor4d(randomNested(rng, [2, 1, 3, 3]) as number[][][][]);
      const f = (xi: tf.Tensor4D, wi: tf.Tensor4D): tf.Scalar =>
        convTranspose2d(xi, wi, null, { stride: 2, padding: 1, outputPadding: 1, dilation: 2 })
          .square()
          .sum();
      const [gx, gw] = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, w]);
      // Central differences on one weight entry.
      const eps = 1e-2;
      const bump = tf.oneHot([4], 18).reshape([2, 1, 3, 3]).mul(eps) as tf.Tensor4D;
      const numeric = (f(x, w.add(bump)).arraySync() - f(x, w.sub(bump)).arraySync()) / (2 * eps);
      const analytic = (gw?.reshape([-1]).arraySync() as number[])[4]!;
      assert.ok(
        Math.abs(numeric - analytic) < 1e-2 * Math.max(1, Math.abs(analytic)),
        `${numeric} vs ${analytic}`,
      );
      assert.deepEqual(gx?.shape, x.shape);
    });
  });
});
