/**
 * lib/nn: modules against the plain references and against F.* on the same weights, their
 * gradients against the cpu backend, PyTorch's initialisation, reprs and parameter shapes,
 * layouts, state dicts and the safetensors format, and errors that say what to do.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  Conv2d,
  ConvTranspose1d,
  ConvTranspose2d,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  Sigmoid,
  SkipConcat,
  Tanh,
  Unflatten,
  Upsample,
  decodeSafetensors,
  encodeSafetensors,
} from "../lib/nn";
import { AvgPool2d } from "../lib/nn/modules/pooling";
import { Conv1d } from "../lib/nn/modules/conv";
import * as F from "../lib/nn/functional";
import { fromChannelsLast, toChannelsLast } from "../lib/nn/layout";
import { conv2dReference, convTranspose2dReference } from "../lib/nn/reference";
import { Rng } from "../lib/random";

type Nested = number | Nested[];

function randomTensor(shape: number[], rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => rng.normal()),
    shape,
  );
}

function assertClose(actual: tf.Tensor, expected: tf.Tensor | Nested, tol = 1e-4): void {
  const e = expected instanceof tf.Tensor ? expected : tf.tensor(expected as number[]);
  try {
    assert.deepEqual(actual.shape, e.shape);
    const worst = tf.tidy(() => tf.max(tf.abs(tf.sub(actual, e))).dataSync()[0]!);
    assert.ok(worst <= tol, `max abs difference ${worst}`);
  } finally {
    if (!(expected instanceof tf.Tensor)) e.dispose();
  }
}

describe("nn", function () {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("Conv2d matches the inner-product reference and F.conv2d on the same weights", () => {
    const rng = Rng.stream("test/nn/conv");
    for (const [k, s, p, d, h] of [
      [5, 1, 0, 1, 9],
      [4, 2, 0, 1, 10],
      [3, 2, 1, 1, 9],
      [3, 1, 2, 2, 7],
    ] as const) {
      const conv = new Conv2d(3, 4, k, { stride: s, padding: p, dilation: d, rng });
      const x = randomTensor([2, 3, h, h], rng) as tf.Tensor4D;
      const y = conv.forward(x);
      const options = { stride: s, padding: p, dilation: d };
      const expected = conv2dReference(
        x.arraySync(),
        conv.weight.arraySync() as number[][][][],
        Array.from(conv.bias!.dataSync()),
        options,
      );
      assertClose(y, expected);
      const viaF = F.conv2d(x, conv.weight as tf.Tensor4D, conv.bias as tf.Tensor1D, options);
      assertClose(y, viaF, 1e-6);
      assert.equal(y.shape[2], F.convOutputSize(h, k, options));
      tf.dispose([x, y, viaF]);
      conv.dispose();
    }
  });

  it("ConvTranspose2d matches the translated-kernels reference and F.convTranspose2d", () => {
    const rng = Rng.stream("test/nn/convT");
    for (const [k, s, p, op, d, h] of [
      [4, 1, 0, 0, 1, 1],
      [3, 2, 0, 0, 1, 4],
      [4, 2, 0, 0, 1, 9],
      [3, 2, 1, 1, 1, 5],
      [3, 1, 0, 1, 2, 4],
    ] as const) {
      const options = { stride: s, padding: p, outputPadding: op, dilation: d };
      const deconv = new ConvTranspose2d(3, 2, k, { ...options, rng });
      assert.deepEqual(deconv.weight.shape, [3, 2, k, k]);
      const x = randomTensor([2, 3, h, h], rng) as tf.Tensor4D;
      const y = deconv.forward(x);
      const expected = convTranspose2dReference(
        x.arraySync(),
        deconv.weight.arraySync() as number[][][][],
        Array.from(deconv.bias!.dataSync()),
        options,
      );
      assertClose(y, expected);
      const viaF = F.convTranspose2d(
        x,
        deconv.weight as tf.Tensor4D,
        deconv.bias as tf.Tensor1D,
        options,
      );
      assertClose(y, viaF, 1e-6);
      assert.equal(y.shape[2], F.convTransposeOutputSize(h, k, options));
      tf.dispose([x, y, viaF]);
      deconv.dispose();
    }
  });

  it("Conv1d and ConvTranspose1d are F.conv1d and F.convTranspose1d as modules", () => {
    const rng = Rng.stream("test/nn/1d");
    const conv = new Conv1d(2, 3, 3, { stride: 2, padding: 1, rng });
    const deconv = new ConvTranspose1d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1, rng });
    const x = randomTensor([2, 2, 9], rng) as tf.Tensor3D;
    const y = conv.forward(x);
    assertClose(
      y,
      F.conv1d(x, conv.weight as tf.Tensor3D, conv.bias as tf.Tensor1D, { stride: 2, padding: 1 }),
      1e-6,
    );
    const z = deconv.forward(y);
    const options = { stride: 2, padding: 1, outputPadding: 1 };
    assertClose(
      z,
      F.convTranspose1d(
        y as tf.Tensor3D,
        deconv.weight as tf.Tensor3D,
        deconv.bias as tf.Tensor1D,
        options,
      ),
      1e-6,
    );
    assert.deepEqual(z.shape, [2, 2, 10]);
    tf.dispose([x, y, z]);
    conv.dispose();
    deconv.dispose();
  });

  it("every module's gradients on the chosen backend agree with the cpu backend", async () => {
    const backend = tf.getBackend();
    const rng = Rng.stream("test/nn/grads");
    const nets: Array<[string, Module]> = [
      ["Conv2d s2 p1", new Conv2d(3, 4, 3, { stride: 2, padding: 1, rng })],
      ["Conv2d k5", new Conv2d(3, 4, 5, { rng })],
      ["Conv2d dilation 2", new Conv2d(3, 4, 3, { dilation: 2, padding: 2, rng })],
      [
        "ConvTranspose2d s2 p1 op1",
        new ConvTranspose2d(3, 4, 3, { stride: 2, padding: 1, outputPadding: 1, rng }),
      ],
      ["ConvTranspose2d k4 s2", new ConvTranspose2d(3, 4, 4, { stride: 2, rng })],
      ["MaxPool2d", new Sequential(new Conv2d(3, 2, 2, { rng }), new MaxPool2d(2))],
      ["AvgPool2d", new Sequential(new Conv2d(3, 2, 2, { rng }), new AvgPool2d(3))],
      [
        "Upsample nearest",
        new Sequential(new Conv2d(3, 2, 2, { rng }), new Upsample({ scaleFactor: 2 })),
      ],
      [
        "Upsample bilinear",
        new Sequential(
          new Conv2d(3, 2, 2, { rng }),
          new Upsample({ scaleFactor: 2, mode: "bilinear" }),
        ),
      ],
      [
        "SkipConcat",
        new SkipConcat(
          new Sequential(
            new Conv2d(3, 4, 3, { padding: 1, rng }),
            new ReLU(),
            new MaxPool2d(2),
            new Upsample({ size: [7, 7] }),
          ),
        ),
      ],
      [
        "Flatten Linear ReLU Linear Tanh Sigmoid Unflatten",
        new Sequential(
          new Flatten(),
          new Linear(7 * 7 * 3, 12, { rng }),
          new ReLU(),
          new Linear(12, 12, { rng }),
          new Tanh(),
          new Sigmoid(),
          new Unflatten([3, 2, 2]),
        ),
      ],
    ];
    const x = randomTensor([2, 3, 7, 7], rng);
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
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]);
    const up = new Upsample({ scaleFactor: 2 });
    const y = up.forward(x);
    assert.deepEqual(
      Array.from(y.dataSync()).slice(0, 16),
      [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4],
    );
    const w = tf.range(0, 32).reshape([2, 1, 4, 4]);
    const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(up.forward(xi), w)))(x);
    // Image 1, pixel (0, 0) collects w[1] at (0,0) (0,1) (1,0) (1,1): 16 + 17 + 20 + 21.
    assert.deepEqual(Array.from(g.dataSync()), [10, 18, 42, 50, 74, 82, 106, 114]);
    tf.dispose([x, y, w, g]);
  });

  it("Flatten keeps PyTorch's C, H, W order inside a Sequential (channels last inside)", () => {
    const rng = Rng.stream("test/nn/flatten");
    const x = randomTensor([2, 3, 4, 5], rng);
    const net = new Sequential(new ReLU(), new Flatten());
    assertClose(net.forward(x), tf.relu(tf.reshape(x, [2, 60])), 0);
    const back = new Sequential(new Flatten(), new Unflatten([3, 4, 5]));
    assertClose(back.forward(x), x, 0);
    x.dispose();
  });

  it("SkipConcat is torch.cat([inner(x), x], 1) and refuses a block that changes the size", () => {
    const rng = Rng.stream("test/nn/skip");
    const inner = new Conv2d(2, 3, 3, { padding: 1, rng });
    const skip = new SkipConcat(inner);
    const x = randomTensor([2, 2, 5, 5], rng);
    const y = skip.forward(x);
    assertClose(y, F.cat([inner.forward(x), x], 1), 1e-6);
    assert.deepEqual(y.shape, [2, 5, 5, 5]);
    assert.match(skip.describe(), /^SkipConcat\(\n {2}\(inner\): Conv2d\(2, 3/);
    const shrinking = new SkipConcat(new Conv2d(2, 3, 3, { rng }));
    assert.throws(() => shrinking.forward(x), /maps \[2, 2, 5, 5\] to \[2, 3, 3, 3\]/);
    tf.dispose([x, y]);
    skip.dispose();
    shrinking.dispose();
  });

  it("layouts: channels last is a reshape for one channel or a 1 x 1 image, a transpose otherwise", () => {
    const rng = Rng.stream("test/nn/layout");
    for (const shape of [
      [2, 1, 3, 4],
      [2, 5, 1, 1],
      [2, 3, 4, 5],
      [2, 3, 7],
    ]) {
      const x = randomTensor(shape, rng);
      const cl = toChannelsLast(x);
      const perm = shape.length === 4 ? [0, 2, 3, 1] : [0, 2, 1];
      assertClose(cl, tf.transpose(x, perm), 0);
      assertClose(fromChannelsLast(cl), x, 0);
      tf.dispose([x, cl]);
    }
  });

  it("initialises as PyTorch: uniform in +-1/sqrt(fan_in), transposed fan_in from out channels", () => {
    const rng = Rng.stream("test/nn/init");
    const cases: Array<[string, Conv2d | ConvTranspose2d | Linear, number]> = [
      ["Conv2d(32, 16, 5)", new Conv2d(32, 16, 5, { rng }), 32 * 25],
      ["ConvTranspose2d(32, 8, 4)", new ConvTranspose2d(32, 8, 4, { rng }), 8 * 16],
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
    const a = new Conv2d(2, 3, 3, { rng: Rng.stream("x", 1) });
    const b = new Conv2d(2, 3, 3, { rng: Rng.stream("x", 1) });
    const c = new Conv2d(2, 3, 3, { rng: Rng.stream("x", 2) });
    assert.deepEqual(a.weight.dataSync(), b.weight.dataSync());
    assert.notDeepEqual(a.weight.dataSync(), c.weight.dataSync());
    [a, b, c].forEach((m) => m.dispose());
  });

  it("Sequential fuses Conv2d+ReLU and Linear+ReLU with the result of the modules in turn", () => {
    const rng = Rng.stream("test/nn/fuse");
    const conv = new Conv2d(2, 3, 3, { rng });
    const linear = new Linear(3 * 4 * 4, 5, { rng });
    const seq = new Sequential(conv, new ReLU(), new Flatten(), linear, new ReLU());
    const x = randomTensor([2, 2, 6, 6], rng);
    const fused = seq.forward(x);
    const plain = tf.relu(linear.forward(tf.reshape(tf.relu(conv.forward(x)), [2, 48])));
    assertClose(fused, plain, 1e-5);
    tf.dispose([x, fused, plain]);
    seq.dispose();
  });

  it("prints PyTorch 1.13's reprs and names parameters by path, in PyTorch's shapes", () => {
    const rng = Rng.stream("test/nn/repr");
    const net = new Sequential(
      new Conv2d(1, 8, 3, { padding: 1, rng }),
      new ReLU(),
      new MaxPool2d(2),
      new ConvTranspose2d(8, 4, 3, { stride: 2, padding: 1, outputPadding: 1, rng }),
      new AvgPool2d(2),
      new Upsample({ scaleFactor: 2 }),
      new Conv2d(4, 4, 3, { padding: "same", dilation: 2, bias: false, rng }),
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
        "  (5): Upsample(scale_factor=2.0, mode=nearest)",
        "  (6): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2), bias=False)",
        "  (7): Flatten(start_dim=1, end_dim=-1)",
        "  (8): Linear(in_features=256, out_features=10, bias=True)",
        ")",
      ].join("\n"),
    );
    assert.equal(
      new ConvTranspose1d(1, 1, 3, {
        stride: 2,
        padding: 1,
        outputPadding: 1,
        dilation: 2,
      }).describe(),
      "ConvTranspose1d(1, 1, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), output_padding=(1,))",
    );
    assert.deepEqual(
      net.namedParameters().map(([n, v]) => `${n}:${v.shape.join("x")}`),
      [
        "0.weight:8x1x3x3",
        "0.bias:8",
        "3.weight:8x4x3x3",
        "3.bias:4",
        "6.weight:4x4x3x3",
        "8.weight:10x256",
        "8.bias:10",
      ],
    );
    const x = tf.zeros([3, 1, 8, 8]);
    const y = net.forward(x);
    assert.deepEqual(y.shape, [3, 10]);
    tf.dispose([x, y]);
    const before = tf.memory().numTensors;
    net.dispose();
    assert.equal(tf.memory().numTensors, before - 7);
  });

  it("state dicts round-trip, and a wrong one leaves the module untouched", () => {
    const rng = Rng.stream("test/nn/state");
    const make = (): Sequential =>
      new Sequential(
        new Conv2d(1, 2, 3, { rng }),
        new ReLU(),
        new Flatten(),
        new Linear(8, 3, { rng }),
      );
    const a = make();
    const b = make();
    const state = a.stateDict();
    b.loadStateDict(state);
    assert.deepEqual(b.stateDict(), state);
    const before = b.stateDict();
    const wrong = new Map(state);
    wrong.delete("3.bias");
    wrong.set("3.weight", { shape: [8, 3], values: new Float32Array(24) });
    wrong.set("4.weight", { shape: [1], values: new Float32Array(1) });
    assert.throws(
      () => b.loadStateDict(wrong),
      /Missing key\(s\): 3\.bias; Unexpected key\(s\): 4\.weight; size mismatch for 3\.weight: copying a param with shape \[8, 3\] \(24 values\), the shape in the current model is \[3, 8\] \(24 values\)/,
    );
    assert.deepEqual(b.stateDict(), before);
    a.dispose();
    b.dispose();
  });

  it("loadStateDict: the right shape with the wrong number of values names both counts", () => {
    const lin = new Linear(3, 3, { rng: Rng.stream("test/nn/state-count") });
    const state = lin.stateDict();
    state.set("weight", { shape: [3, 3], values: new Float32Array(10) });
    assert.throws(
      () => lin.loadStateDict(state),
      /size mismatch for weight: copying a param with shape \[3, 3\] \(10 values\), the shape in the current model is \[3, 3\] \(9 values\)/,
    );
    lin.dispose();
  });

  it("loadStateDict refuses NaN and Infinity, naming the first tensor that holds one", () => {
    const lin = new Linear(2, 3, { rng: Rng.stream("test/nn/state-nan") });
    const before = lin.stateDict();
    for (const [bad, name, at] of [
      [NaN, "weight", 4],
      [-Infinity, "bias", 2],
    ] as const) {
      const state = lin.stateDict();
      (state.get(name) as { values: Float32Array }).values[at - 1] = bad;
      if (name === "bias") (state.get("weight") as { values: Float32Array }).values[0] = 7;
      assert.throws(
        () => lin.loadStateDict(state),
        new RegExp(
          `^Error: Linear\\.loadStateDict: parameter ${name} holds ${bad} \\(value ${at} of \\d+\\): weights of a diverged training, not loaded; the module is untouched$`,
        ),
      );
      assert.deepEqual(lin.stateDict(), before);
    }
    lin.dispose();
  });

  it("loadStateDict takes a Map or a plain object of tensors or entries, and names them for anything else", () => {
    const rng = Rng.stream("test/nn/state-forms");
    const a = new Linear(2, 3, { rng });
    const b = new Linear(2, 3, { rng });
    const state = a.stateDict();
    const tensors = new Map([...state].map(([n, e]) => [n, tf.tensor(e.values, e.shape)]));
    const before = tf.memory().numTensors;
    b.loadStateDict(tensors);
    assert.deepEqual(b.stateDict(), state);
    b.loadStateDict(Object.fromEntries(tensors));
    b.loadStateDict(Object.fromEntries(state));
    assert.deepEqual(b.stateDict(), state);
    assert.equal(tf.memory().numTensors, before, "no tensor left by the conversion");
    const accepted =
      "a state dict is a Map or a plain object from parameter names to tensors or \\{ shape: number\\[\\], values: Float32Array \\}";
    for (const [input, got] of [
      [[1, 2], "Array"],
      [42, "number"],
      [null, "null"],
      [a, "Linear"],
    ] as const) {
      assert.throws(
        () => b.loadStateDict(input as never),
        (e: unknown) =>
          e instanceof TypeError &&
          new RegExp(`^Linear\\.loadStateDict: got ${got}; ${accepted}$`).test(e.message),
      );
    }
    assert.throws(
      () => b.loadStateDict({ weight: [[1, 2]], bias: state.get("bias") } as never),
      (e: unknown) =>
        e instanceof TypeError &&
        new RegExp(
          `^Linear\\.loadStateDict: "weight" is neither a tensor nor \\{ shape, values: Float32Array \\}; ${accepted}$`,
        ).test(e.message),
    );
    assert.deepEqual(b.stateDict(), state);
    tf.dispose([...tensors.values()]);
    a.dispose();
    b.dispose();
  });

  it("safetensors: encodes and decodes exactly; rejects holes, overlaps, truncation and non-F32", () => {
    const state = new Map([
      ["a", { shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ["b.c", { shape: [1], values: Float32Array.from([-0.5]) }],
    ]);
    const bytes = encodeSafetensors(state, { note: "x" });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLength) % 8, 0, "data 8-byte aligned");
    const back = decodeSafetensors(bytes);
    assert.deepEqual(back.tensors, state);
    assert.deepEqual(back.metadata, { note: "x" });
    const withHeader = (header: object, dataBytes: number): Uint8Array => {
      const text = Buffer.from(JSON.stringify(header));
      const out = new Uint8Array(8 + text.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
      out.set(text, 8);
      return out;
    };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["truncated", bytes.subarray(0, 5), /only 5 bytes/],
      ["header past the end", bytes.subarray(0, 20), /header length/],
      [
        "hole",
        withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8),
        /starts at byte 4, expected 0/,
      ],
      [
        "overlap",
        withHeader(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
          },
          8,
        ),
        /starts at byte 4, expected 8/,
      ],
      [
        "shape vs bytes",
        withHeader({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8),
        /"a" \[3\] has bytes 0\.\.8/,
      ],
      [
        "float16",
        withHeader({ a: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, 4),
        /only F32 is supported/,
      ],
      ["not JSON", withHeader({}, 0).fill(120, 8), /unreadable header/],
    ];
    for (const [label, b, pattern] of cases) {
      assert.throws(() => decodeSafetensors(b, "f.safetensors"), pattern, label);
    }
  });

  it("rejects bad input with a message that says what was expected", () => {
    const conv = new Conv2d(3, 4, 3, { rng: Rng.stream("t") });
    const x = tf.zeros([1, 1, 5, 5]);
    assert.throws(
      () => conv.forward(x),
      /input has 1 channels but the weight \[4, 3, 3, 3\] expects 3/,
    );
    const small = tf.zeros([1, 3, 2, 2]);
    assert.throws(() => conv.forward(small), /smaller than the dilated kernel size/);
    assert.throws(
      () => new ConvTranspose2d(1, 1, 3, { stride: 2, outputPadding: 2 }),
      /output padding/,
    );
    assert.throws(() => new Conv2d(0, 4, 3), /positive integers/);
    assert.throws(() => new Conv2d(1, 4, 0), /kernel size must be an integer >= 1/);
    assert.throws(() => new Linear(3, 2).forward(tf.zeros([2, 4])), /expected shape \[N, 3\]/);
    assert.throws(
      () => new Upsample({ scaleFactor: 2, size: 4 }),
      /exactly one of size and scaleFactor/,
    );
    assert.throws(
      () => F.cat([tf.zeros([1, 2]), tf.zeros([2, 2])], 1),
      /tensor 1 has shape \[2, 2\]/,
    );
    tf.dispose([x, small]);
    conv.dispose();
  });
});
