/**
 * Architecture summaries in the lecture's form: the PyTorch repr, then a table of tensor
 * sizes (C x H x W) between the operations, then the parameter count. Sizes come from
 * running the layers on a zero batch of one, so the table shows what the code does.
 */
import * as tf from "@tensorflow/tfjs";
import type { Module } from "../nn/module";
import { Sequential } from "../nn/modules/sequential";

/** One layer of a traced Sequential. */
export interface LayerRow {
  /** Which part of the model, e.g. "encoder". */
  stage: string;
  /** Index in its Sequential. */
  index: number;
  /** The layer's PyTorch repr, e.g. "Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1))". */
  layer: string;
  /** Input size, "C x H x W" (or "F" for flat tensors). */
  input: string;
  /** Output size, same form. */
  output: string;
  parameters: number;
}

/** "32 x 24 x 24" for a shape [N, 32, 24, 24]; "F" for [N, F]. */
export function sizeLabel(shape: readonly number[]): string {
  return shape.slice(1).join(" x ");
}

/**
 * Runs `module` (layer by layer when it is a Sequential) on zeros of size `inputSize`
 * (C x H x W, or [F]) and records every size; returns the rows and the output size.
 */
export function traceModule(
  module: Module,
  stage: string,
  inputSize: readonly number[],
): { rows: LayerRow[]; outputSize: number[] } {
  const layers = module instanceof Sequential ? module.layers : [module];
  const rows: LayerRow[] = [];
  let outputSize: number[] = [];
  tf.tidy(() => {
    let x: tf.Tensor = tf.zeros([1, ...inputSize]);
    layers.forEach((layer, index) => {
      const y = layer.forward(x);
      rows.push({
        stage,
        index,
        layer: layer.describe(),
        input: sizeLabel(x.shape),
        output: sizeLabel(y.shape),
        parameters: layer.parameterCount(),
      });
      x = y;
    });
    outputSize = x.shape.slice(1);
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
