/**
 * torch.nn.functional's own outputs (test/fixtures/functional-torch.json, made by
 * make_functional_torch.py with PyTorch 1.13) against ours, errors included.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

import * as tf from "@tensorflow/tfjs";

import { initBackend } from "../lib/backend";
import {
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  interpolate,
} from "../lib/nn/functional";

interface TensorCase {
  shape: number[];
  values: number[];
}
interface TorchCase {
  op: "conv1d" | "conv2d" | "conv_transpose1d" | "conv_transpose2d" | "interpolate" | "avg_pool2d";
  params: Record<string, number | number[] | string>;
  x: TensorCase;
  weight?: TensorCase;
  bias?: number[] | null;
  y?: TensorCase;
  error?: string;
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures", "functional-torch.json"), "utf8"),
) as { torch: string; cases: TorchCase[] };

type NumOrPair = number | [number, number];
const num = (v: unknown): NumOrPair | undefined => v as NumOrPair | undefined;

function run(c: TorchCase): tf.Tensor {
  const x = tf.tensor(c.x.values, c.x.shape);
  const w = c.weight ? tf.tensor(c.weight.values, c.weight.shape) : null;
  const b = c.bias ? tf.tensor1d(c.bias) : null;
  const p = c.params;
  switch (c.op) {
    case "conv1d":
      return conv1d(x as tf.Tensor3D, w as tf.Tensor3D, b, {
        stride: p.stride as number,
        padding: p.padding as number | "same" | "valid",
        dilation: p.dilation as number,
      });
    case "conv_transpose1d":
      return convTranspose1d(x as tf.Tensor3D, w as tf.Tensor3D, b, {
        stride: p.stride as number,
        padding: p.padding as number,
        outputPadding: p.output_padding as number,
        dilation: p.dilation as number,
      });
    case "conv2d":
      return conv2d(x as tf.Tensor4D, w as tf.Tensor4D, b, {
        stride: num(p.stride),
        padding: p.padding === "same" || p.padding === "valid" ? p.padding : num(p.padding),
        dilation: num(p.dilation),
      });
    case "conv_transpose2d":
      return convTranspose2d(x as tf.Tensor4D, w as tf.Tensor4D, b, {
        stride: num(p.stride),
        padding: num(p.padding),
        outputPadding: num(p.output_padding),
        dilation: num(p.dilation),
      });
    case "interpolate":
      return interpolate(x as tf.Tensor4D, {
        mode: p.mode as "nearest" | "bilinear",
        size: num(p.size),
        scaleFactor: num(p.scale_factor),
      });
    case "avg_pool2d":
      return avgPool2d(x as tf.Tensor4D, p.kernel_size as number, {
        stride: p.stride as number,
        padding: p.padding as number,
      });
  }
}

// The backend the notebooks use (wasm with our kernels here, else cpu).
before(async () => {
  await initBackend({ quiet: true });
});

describe(`functional: agreement with PyTorch ${fixture.torch} outputs`, () => {
  for (const c of fixture.cases) {
    it(`${c.op} ${JSON.stringify(c.params)}${c.error ? " raises" : ""}`, () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        if (c.error !== undefined) {
          assert.throws(() => run(c), Error, `PyTorch raised: ${c.error}`);
          return;
        }
        const y = run(c);
        const expected = c.y as TensorCase;
        assert.deepEqual(y.shape, expected.shape);
        const got = y.dataSync();
        expected.values.forEach((v, i) => {
          assert.ok(Math.abs(got[i]! - v) < 1e-4, `element ${i}: ${got[i]} vs ${v}`);
        });
      });
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
