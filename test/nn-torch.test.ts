/**
 * Our modules against PyTorch 1.13's own outputs: modules given PyTorch's weights as they are
 * (no transposes: the shapes are PyTorch's), from test/fixtures/functional-torch.json, and the
 * lecture's AutoEncoder(32, 8) loading a state dict exported from PyTorch
 * (test/fixtures/lecture-ae-torch.safetensors, made by make_lecture_ae_torch.py).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { AutoEncoder } from "../lib/models";
import { ConvTranspose2d, Module, Upsample } from "../lib/nn";
import { AvgPool2d } from "../lib/nn/modules/pooling";
import { readStateDict } from "../lib/nn/safetensors";

interface TensorCase {
  shape: number[];
  values: number[];
}
interface Case {
  op: string;
  params: Record<string, unknown>;
  x: TensorCase;
  weight?: TensorCase;
  bias?: number[] | null;
  y?: TensorCase;
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures", "functional-torch.json"), "utf8"),
) as { cases: Case[] };

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function check(layer: Module, c: Case): void {
  const x = tf.tensor(c.x.values, c.x.shape);
  const expected = tf.tensor(c.y!.values, c.y!.shape);
  const y = layer.forward(x);
  const worst = maxDiff(y, expected);
  assert.ok(worst < 1e-4, `${c.op} ${JSON.stringify(c.params)}: max difference ${worst}`);
  tf.dispose([x, y, expected]);
}

function find(op: string, params: Record<string, unknown>): Case {
  const c = fixture.cases.find(
    (k) => k.op === op && JSON.stringify(k.params) === JSON.stringify(params) && k.y,
  );
  if (!c) throw new Error(`fixture has no ${op} ${JSON.stringify(params)}`);
  return c;
}

describe("nn vs PyTorch 1.13 outputs", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("ConvTranspose2d(2, 3, 3, stride 2, padding 1, output_padding 1) with PyTorch's weights", () => {
    const c = find("conv_transpose2d", { stride: 2, padding: 1, output_padding: 1, dilation: 1 });
    const [inC, outC, k] = c.weight!.shape as [number, number, number, number];
    const layer = new ConvTranspose2d(inC, outC, k, { stride: 2, padding: 1, outputPadding: 1 });
    assert.deepEqual(layer.weight.shape, c.weight!.shape);
    layer.setWeight(c.weight!.values);
    layer.setBias(c.bias!);
    check(layer, c);
    layer.dispose();
  });

  it("Upsample(3) nearest and bilinear (align_corners=False), AvgPool2d(2)", () => {
    check(
      new Upsample({ scaleFactor: 3 }),
      find("interpolate", { mode: "nearest", scale_factor: 3 }),
    );
    check(
      new Upsample({ scaleFactor: 3, mode: "bilinear" }),
      find("interpolate", { mode: "bilinear", scale_factor: 3 }),
    );
    check(new AvgPool2d(2), find("avg_pool2d", { kernel_size: 2, stride: 2, padding: 0 }));
  });

  it("the lecture's AutoEncoder(32, 8) loads PyTorch's state dict and gives PyTorch's outputs", () => {
    const file = path.join(__dirname, "fixtures", "lecture-ae-torch.safetensors");
    const all = readStateDict(file);
    const io = (k: string): tf.Tensor4D => {
      const e = all.get(`io.${k}`)!;
      all.delete(`io.${k}`);
      return tf.tensor4d(e.values, e.shape as [number, number, number, number]);
    };
    const [x, code, y] = [io("x"), io("code"), io("y")];
    const model = new AutoEncoder({ embeddingDim: 8, seed: 1 });
    model.loadStateDict(all);
    const ourCode = model.encode(x);
    const ourY = model.forward(x);
    assert.deepEqual(ourCode.shape, [4, 8, 1, 1]);
    assert.ok(maxDiff(ourCode, code) < 1e-5, `codes differ by ${maxDiff(ourCode, code)}`);
    assert.ok(maxDiff(ourY, y) < 1e-5, `reconstructions differ by ${maxDiff(ourY, y)}`);
    assert.ok(tf.tidy(() => tf.max(tf.abs(y)).dataSync()[0]!) > 1e-3, "trivial fixture outputs");
    tf.dispose([x, code, y, ourCode, ourY]);
    model.dispose();
  });
});
