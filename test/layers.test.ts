import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  AvgPool2d,
  Conv2d,
  ConvTranspose2d,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sigmoid,
  Tanh,
  Unflatten,
  Sequential,
  Upsample,
} from "../lib/layers";
import { Rng } from "../lib/random";

/** PyTorch's Conv2d by its definition, on NHWC arrays, weight [kh, kw, in, out]. */
function naiveConv(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  stride: number,
  pad: number,
): { data: Float32Array; shape: number[] } {
  const [n, h, wd, c] = x.shape;
  const [kh, kw, , o] = w.shape;
  const xs = x.dataSync();
  const ws = w.dataSync();
  const bs = b.dataSync();
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const out = new Float32Array(n * oh * ow * o);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let oc = 0; oc < o; oc++) {
          let s = bs[oc] as number;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = y * stride - pad + ky;
              const ix = xx * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              for (let ic = 0; ic < c; ic++) {
                s +=
                  (xs[((i * h + iy) * wd + ix) * c + ic] as number) *
                  (ws[((ky * kw + kx) * c + ic) * o + oc] as number);
              }
            }
          out[((i * oh + y) * ow + xx) * o + oc] = s;
        }
  return { data: out, shape: [n, oh, ow, o] };
}

/** PyTorch's ConvTranspose2d by its definition (scatter), weight [kh, kw, out, in]. */
function naiveConvTranspose(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  stride: number,
  pad: number,
  outPad: number,
): { data: Float32Array; shape: number[] } {
  const [n, h, wd, c] = x.shape;
  const [kh, kw, o] = w.shape;
  const xs = x.dataSync();
  const ws = w.dataSync();
  const bs = b.dataSync();
  const oh = (h - 1) * stride - 2 * pad + kh + outPad;
  const ow = (wd - 1) * stride - 2 * pad + kw + outPad;
  const out = new Float32Array(n * oh * ow * o);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let oc = 0; oc < o; oc++) out[((i * oh + y) * ow + xx) * o + oc] = bs[oc] as number;
  for (let i = 0; i < n; i++)
    for (let iy = 0; iy < h; iy++)
      for (let ix = 0; ix < wd; ix++)
        for (let ic = 0; ic < c; ic++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const y = iy * stride - pad + ky;
              const xx = ix * stride - pad + kx;
              if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
              for (let oc = 0; oc < o; oc++) {
                out[((i * oh + y) * ow + xx) * o + oc]! +=
                  (xs[((i * h + iy) * wd + ix) * c + ic] as number) *
                  (ws[((ky * kw + kx) * o + oc) * c + ic] as number);
              }
            }
  return { data: out, shape: [n, oh, ow, o] };
}

function randomInput(shape: [number, number, number, number], rng: Rng): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(
    Float32Array.from({ length: size }, () => rng.normal()),
    shape,
  );
}

function assertClose(actual: tf.Tensor, expected: { data: Float32Array; shape: number[] }): void {
  assert.deepEqual(actual.shape, expected.shape);
  const a = actual.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs((a[i] as number) - (expected.data[i] as number)));
  assert.ok(worst < 1e-4, `max abs difference ${worst}`);
}

describe("layers", function () {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("Conv2d matches PyTorch's definition (stride, padding) and output size formula", () => {
    const rng = Rng.stream("test/conv");
    for (const [k, s, p, h] of [
      [5, 1, 0, 9],
      [4, 2, 0, 10],
      [3, 2, 1, 9],
      [3, 1, 2, 5],
    ] as const) {
      const conv = new Conv2d(3, 4, { kernelSize: k, stride: s, padding: p, rng });
      const x = randomInput([2, h, h, 3], rng);
      const y = conv.forward(x);
      assertClose(y, naiveConv(x, conv.weight, conv.bias!, s, p));
      assert.deepEqual(conv.outputSize(h, h), [y.shape[1], y.shape[2]]);
      tf.dispose([x, y]);
      conv.dispose();
    }
  });

  it("ConvTranspose2d matches PyTorch's definition (stride, padding, output padding)", () => {
    const rng = Rng.stream("test/convT");
    for (const [k, s, p, op, h] of [
      [4, 1, 0, 0, 1],
      [3, 2, 0, 0, 4],
      [4, 2, 0, 0, 9],
      [3, 2, 1, 1, 5],
      [4, 2, 1, 0, 3],
    ] as const) {
      const deconv = new ConvTranspose2d(3, 2, {
        kernelSize: k,
        stride: s,
        padding: p,
        outputPadding: op,
        rng,
      });
      const x = randomInput([2, h, h, 3], rng);
      const y = deconv.forward(x);
      assertClose(y, naiveConvTranspose(x, deconv.weight, deconv.bias!, s, p, op));
      assert.deepEqual(deconv.outputSize(h, h), [y.shape[1], y.shape[2]]);
      tf.dispose([x, y]);
      deconv.dispose();
    }
  });

  it("every layer's gradients on the chosen backend agree with the cpu backend", async () => {
    const backend = tf.getBackend();
    const rng = Rng.stream("test/grads");
    const nets: Array<[string, Module]> = [
      ["Conv2d s2 p1", new Conv2d(3, 4, { kernelSize: 3, stride: 2, padding: 1, rng })],
      ["Conv2d k5", new Conv2d(3, 4, { kernelSize: 5, rng })],
      [
        "ConvTranspose2d s2 p1 op1",
        new ConvTranspose2d(3, 4, { kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, rng }),
      ],
      ["ConvTranspose2d k4 s2", new ConvTranspose2d(3, 4, { kernelSize: 4, stride: 2, rng })],
      ["MaxPool2d", new Sequential(new Conv2d(3, 2, { kernelSize: 2, rng }), new MaxPool2d(2))],
      ["AvgPool2d", new Sequential(new Conv2d(3, 2, { kernelSize: 2, rng }), new AvgPool2d(3))],
      [
        "Upsample nearest",
        new Sequential(new Conv2d(3, 2, { kernelSize: 2, rng }), new Upsample(2)),
      ],
      [
        "Upsample bilinear",
        new Sequential(new Conv2d(3, 2, { kernelSize: 2, rng }), new Upsample(2, "bilinear")),
      ],
      [
        "Flatten Linear Tanh Sigmoid Unflatten",
        new Sequential(
          new Flatten(),
          new Linear(7 * 7 * 3, 12, { rng }),
          new Tanh(),
          new Sigmoid(),
          new Unflatten([3, 2, 2]),
        ),
      ],
    ];
    const x = randomInput([2, 7, 7, 3], rng);
    const gradsOn = async (name: string): Promise<number[][]> => {
      await tf.setBackend(name);
      return nets.map(([, net]) =>
        tf.tidy(() => {
          const xv = tf.clone(x);
          const f = (xi: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.relu(net.forward(xi))));
          const [dx] = tf.grads((xi: tf.Tensor) => f(xi))([xv]);
          const { grads } = tf.variableGrads(() => f(xv), net.parameters());
          return [dx!, ...Object.values(grads)].flatMap((g) => Array.from(g.dataSync()));
        }),
      );
    };
    let ours: number[][];
    let reference: number[][];
    try {
      ours = await gradsOn(backend);
      reference = await gradsOn("cpu");
    } finally {
      // The files after this one run on the chosen backend.
      await tf.setBackend(backend);
    }
    ours.forEach((g, i) => {
      const label = nets[i]![0];
      assert.equal(g.length, reference[i]!.length, label);
      const worst = g.reduce((m, v, j) => Math.max(m, Math.abs(v - reference[i]![j]!)), 0);
      const scale = reference[i]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(scale > 0, `${label}: zero gradient`);
      assert.ok(
        worst <= 1e-4 * scale,
        `${label} on ${backend}: max difference ${worst} (scale ${scale})`,
      );
    });
    x.dispose();
    nets.forEach(([, n]) => n.dispose());
  });

  it("Upsample(2) repeats pixels; its gradient sums each 2x2 block, image by image", () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const up = new Upsample(2);
    const y = up.forward(x);
    assert.deepEqual(
      Array.from(y.dataSync()).slice(0, 16),
      [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4],
    );
    const w = tf.range(0, 32).reshape([2, 4, 4, 1]);
    const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(up.forward(xi), w)))(x);
    // Image 1, pixel (0, 0) collects w[1] at (0,0) (0,1) (1,0) (1,1): 16 + 17 + 20 + 21.
    assert.deepEqual(Array.from(g.dataSync()), [10, 18, 42, 50, 74, 82, 106, 114]);
    tf.dispose([x, y, w, g]);
  });

  it("initialises as PyTorch: uniform in +-1/sqrt(fan_in), transposed fan_in from out channels", () => {
    const rng = Rng.stream("test/init");
    const cases: Array<
      [string, { weight: tf.Variable; bias: tf.Variable | null; dispose(): void }, number]
    > = [
      ["Conv2d(32, 16, k5)", new Conv2d(32, 16, { kernelSize: 5, rng }), 32 * 25],
      ["ConvTranspose2d(32, 8, k4)", new ConvTranspose2d(32, 8, { kernelSize: 4, rng }), 8 * 16],
      ["Linear(300, 50)", new Linear(300, 50, { rng }), 300],
    ];
    for (const [label, layer, fanIn] of cases) {
      const bound = 1 / Math.sqrt(fanIn);
      const w = layer.weight.dataSync();
      let lo = Infinity;
      let hi = -Infinity;
      let sumSq = 0;
      for (const v of w) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        sumSq += v * v;
      }
      assert.ok(lo >= -bound && hi <= bound, `${label}: weights in [${lo}, ${hi}], bound ${bound}`);
      // Filling the range: extremes near the bound, variance near bound^2 / 3.
      assert.ok(
        hi > 0.95 * bound && lo < -0.95 * bound,
        `${label}: range [${lo}, ${hi}] vs ${bound}`,
      );
      const variance = sumSq / w.length;
      assert.ok(
        Math.abs(variance / ((bound * bound) / 3) - 1) < 0.1,
        `${label}: variance ${variance}`,
      );
      for (const v of layer.bias!.dataSync())
        assert.ok(Math.abs(v) <= bound, `${label}: bias ${v}`);
      layer.dispose();
    }
  });

  it("is seeded: the same stream gives the same weights, another stream different ones", () => {
    const a = new Conv2d(2, 3, { kernelSize: 3, rng: Rng.stream("x", 1) });
    const b = new Conv2d(2, 3, { kernelSize: 3, rng: Rng.stream("x", 1) });
    const c = new Conv2d(2, 3, { kernelSize: 3, rng: Rng.stream("x", 2) });
    assert.deepEqual(a.weight.dataSync(), b.weight.dataSync());
    assert.notDeepEqual(a.weight.dataSync(), c.weight.dataSync());
    [a, b, c].forEach((m) => m.dispose());
  });

  it("Sequential fuses Conv2d+ReLU with the same result as the two modules in turn", () => {
    const rng = Rng.stream("test/fuse");
    const conv = new Conv2d(2, 3, { kernelSize: 3, rng });
    const seq = new Sequential(conv, new ReLU());
    const x = randomInput([2, 6, 6, 2], rng);
    const fused = seq.forward(x);
    const plain = tf.relu(conv.forward(x));
    assertClose(fused, { data: plain.dataSync() as Float32Array, shape: plain.shape });
    tf.dispose([x, fused, plain]);
    seq.dispose();
  });

  it("prints PyTorch reprs and names parameters by path", () => {
    const rng = Rng.stream("test/repr");
    const net = new Sequential(
      new Conv2d(1, 8, { kernelSize: 3, padding: 1, rng }),
      new ReLU(),
      new MaxPool2d(2),
      new ConvTranspose2d(8, 4, { kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, rng }),
      new AvgPool2d(2),
      new Upsample(2),
      new Flatten(),
      new Linear(8 * 8 * 4, 10, { rng }),
    );
    assert.equal(
      net.describe(),
      [
        "Sequential(",
        "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
        "  (1): ReLU()",
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "  (3): ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))",
        "  (4): AvgPool2d(kernel_size=2, stride=2, padding=0)",
        "  (5): Upsample(scale_factor=2.0, mode='nearest')",
        "  (6): Flatten(start_dim=1, end_dim=-1)",
        "  (7): Linear(in_features=256, out_features=10, bias=True)",
        ")",
      ].join("\n"),
    );
    assert.deepEqual(
      net.namedParameters().map(([n, v]) => `${n}:${v.shape.join("x")}`),
      [
        "0.weight:3x3x1x8",
        "0.bias:8",
        "3.weight:3x3x4x8",
        "3.bias:4",
        "7.weight:256x10",
        "7.bias:10",
      ],
    );
    const x = tf.zeros([3, 8, 8, 1]);
    const y = net.forward(x);
    assert.deepEqual(y.shape, [3, 10]);
    tf.dispose([x, y]);
    const before = tf.memory().numTensors;
    net.dispose();
    assert.equal(tf.memory().numTensors, before - 6);
  });

  it("rejects bad input with a message that says what was expected", () => {
    const conv = new Conv2d(3, 4, { kernelSize: 3, rng: Rng.stream("t") });
    const x = tf.zeros([1, 5, 5, 1]);
    assert.throws(() => conv.forward(x), /expected 3 input channels/);
    const small = tf.zeros([1, 2, 2, 3]);
    assert.throws(() => conv.forward(small), /smaller than kernel/);
    assert.throws(
      () => new ConvTranspose2d(1, 1, { kernelSize: 3, stride: 2, outputPadding: 2 }),
      /outputPadding/,
    );
    assert.throws(() => new Conv2d(0, 4, { kernelSize: 3 }), /positive integers/);
    tf.dispose([x, small]);
    conv.dispose();
  });
});
