/**
 * Architecture summaries in the lecture's form: the PyTorch repr, then a table of tensor
 * sizes (C x H x W) between the operations, then the parameter count. Sizes come from
 * running the layers on a zero batch of one, so the table shows what the code does. The one
 * tracer walks every model: Sequentials layer by layer, skip connections (SkipConcat) into
 * their block, then the concatenation.
 */
import * as tf from "@tensorflow/tfjs";
import { cat } from "../nn/functional";
import type { Module } from "../nn/module";
import { Sequential } from "../nn/modules/sequential";
import { SkipConcat } from "../nn/modules/skip";

/** One operation of a traced model. */
export interface LayerRow {
  /** Which part of the model, e.g. "encoder". */
  stage: string;
  /** Index in its Sequential. */
  index: number;
  /** The module's class name, e.g. "Conv2d", "ReLU", "SkipConcat" (its concatenation). */
  kind: string;
  /** The layer's PyTorch repr, e.g. "Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1))". */
  layer: string;
  /** Input size, "C x H x W" (or "F" for flat tensors). */
  input: string;
  /** Output size, same form. */
  output: string;
  parameters: number;
}

/** "32 x 24 x 24" for a shape [N, 32, 24, 24]; "F" for [N, F]. */
function sizeLabel(shape: readonly number[]): string {
  return shape.slice(1).join(" x ");
}

/**
 * Runs `module` on zeros of size `inputSize` (C x H x W, or [F]) and records the size after
 * every operation, in the order they run (a SkipConcat's block, then its concatenation, which
 * has no parameters of its own); returns the rows and the output size.
 */
export function traceModule(
  module: Module,
  stage: string,
  inputSize: readonly number[],
): { rows: LayerRow[]; outputSize: number[] } {
  const rows: LayerRow[] = [];
  const walk = (m: Module, x: tf.Tensor, index: number): tf.Tensor => {
    if (m instanceof Sequential) return m.layers.reduce((h, layer, i) => walk(layer, h, i), x);
    const skip = m instanceof SkipConcat;
    const y = skip ? cat([walk(m.inner, x, 0), x], 1) : m.forward(x);
    rows.push({
      stage,
      index,
      kind: m.name,
      layer: skip ? "cat([block(x), x], 1)" : m.describe(),
      input: sizeLabel(x.shape),
      output: sizeLabel(y.shape),
      parameters: skip ? 0 : m.parameterCount(),
    });
    return y;
  };
  let outputSize: number[] = [];
  tf.tidy(() => {
    outputSize = walk(module, tf.zeros([1, ...inputSize]), 0).shape.slice(1);
  });
  return { rows, outputSize };
}

/**
 * The lecture's "Tensor sizes / operations" table: sizes on their own lines, operations
 * (layers with parameters or a size change) indented between them, parameters on the right.
 */
export function formatSizeTable(title: string, rows: readonly LayerRow[]): string {
  const ops = rows.filter((r) => r.parameters > 0 || r.input !== r.output);
  const width = Math.max(40, ...ops.map((r) => r.layer.length + 8));
  const lines = [`${title}: tensor sizes / operations`, `  ${rows[0]?.input ?? ""}`];
  for (const r of ops) {
    const op = `      (${r.index}) ${r.layer}`;
    const params = r.parameters > 0 ? `${r.parameters.toLocaleString("en-US")} params` : "";
    lines.push(`${op.padEnd(width + 6)}${params}`);
    lines.push(`  ${r.output}`);
  }
  return lines.join("\n");
}
