/**
 * Architecture summaries in the lecture's form: the PyTorch repr, then a table of tensor
 * sizes (C x H x W) between the operations, then the parameter count. Sizes come from
 * running the layers on a zero batch of one, so the table shows what the code does.
 */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../layers/module";
import { Sequential } from "../layers/sequential";

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

/** "32 x 24 x 24" for an NHWC shape [N, 24, 24, 32]; "F" for [N, F]. */
export function chwLabel(shape: readonly number[]): string {
  if (shape.length === 4) return `${shape[3]} x ${shape[1]} x ${shape[2]}`;
  return shape.slice(1).join(" x ");
}

/** Runs `seq` layer by layer on zeros of size C x H x W (or [F]) and records every size. */
export function traceSequential(
  seq: Sequential,
  stage: string,
  inputSize: readonly number[],
): LayerRow[] {
  const shape =
    inputSize.length === 3
      ? [1, inputSize[1] as number, inputSize[2] as number, inputSize[0] as number]
      : [1, ...inputSize];
  const rows: LayerRow[] = [];
  tf.tidy(() => {
    let x: tf.Tensor = tf.zeros(shape);
    seq.layers.forEach((layer: Module, index: number) => {
      const y = layer.forward(x);
      rows.push({
        stage,
        index,
        layer: layer.describe(),
        input: chwLabel(x.shape),
        output: chwLabel(y.shape),
        parameters: layer.parameterCount(),
      });
      x = y;
    });
  });
  return rows;
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
