/**
 * Our layers against PyTorch 1.13's own outputs (test/fixtures/functional-torch.json, made
 * by make_functional_torch.py): the cases our modules cover (no dilation).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { AvgPool2d, ConvTranspose2d, Module, Upsample } from "../lib/layers";
import { Rng } from "../lib/random";

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

/** NCHW values -> NHWC tensor. */
function nhwc(t: TensorCase): tf.Tensor4D {
  return tf.tidy(
    () => tf.transpose(tf.tensor<tf.Rank>(t.values, t.shape), [0, 2, 3, 1]) as tf.Tensor4D,
  );
}

function check(layer: Module, c: Case): void {
  const x = nhwc(c.x);
  const expected = nhwc(c.y!);
  const y = layer.forward(x);
  assert.deepEqual(y.shape, expected.shape);
  const worst = tf.tidy(() => tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]!);
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

describe("layers vs PyTorch 1.13 outputs", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("ConvTranspose2d(2, 3, k3, stride 2, padding 1, output_padding 1) with PyTorch's weights", () => {
    const c = find("conv_transpose2d", {
      stride: 2,
      padding: 1,
      output_padding: 1,
      dilation: 1,
    });
    const [inC, outC, kh] = c.weight!.shape as [number, number, number, number];
    const layer = new ConvTranspose2d(inC, outC, {
      kernelSize: kh,
      stride: 2,
      padding: 1,
      outputPadding: 1,
      rng: Rng.stream("torch"),
    });
    // PyTorch stores [in, out, kh, kw]; ours is [kh, kw, out, in].
    tf.tidy(() => {
      layer.weight.assign(
        tf.transpose(
          tf.tensor<tf.Rank>(c.weight!.values, c.weight!.shape),
          [2, 3, 1, 0],
        ) as tf.Tensor4D,
      );
      layer.bias!.assign(tf.tensor1d(c.bias!));
    });
    check(layer, c);
    layer.dispose();
  });

  it("Upsample(3) nearest and bilinear (align_corners=False)", () => {
    check(new Upsample(3), find("interpolate", { mode: "nearest", scale_factor: 3 }));
    check(new Upsample(3, "bilinear"), find("interpolate", { mode: "bilinear", scale_factor: 3 }));
  });

  it("AvgPool2d(2), i.e. F.avg_pool2d(x, 2)", () => {
    check(new AvgPool2d(2), find("avg_pool2d", { kernel_size: 2, stride: 2, padding: 0 }));
  });
});
