/**
 * A 1-D transposed convolution laid out term by term, for the stride / padding /
 * output-padding / dilation figures: one row per input value (the kernel, weighted by it,
 * translated by u * stride), then their sum, over the full output axis, with the columns
 * that `padding` crops and that `outputPadding` appends named as such.
 */
import { convTransposeOutput, resolveConvTranspose1d } from "../geometry";

/** The terms of a single-channel transposed convolution, ready for a heatmap. */
export interface TransposedConvTerms {
  /** rows[u][f]: x[u] * (dilated kernel) placed at u * stride, over the columns; last row = the sum. */
  rows: number[][];
  /** "x[0] = 1", ..., "sum". */
  rowLabels: string[];
  /** One per column: "y[j]" for output positions, "cut f" for full-output columns that padding crops, "y[j]+" for output-padding columns. */
  columnLabels: string[];
  /** The transposed convolution's output (the sum row without the cropped columns). */
  output: number[];
}

/**
 * Decomposes conv_transpose1d(x, kernel) into its translated kernels (single channel).
 * The output row equals `convTranspose1dReference` on [[x]], [[kernel]].
 */
export function transposedConvTerms(
  x: readonly number[],
  kernel: readonly number[],
  options: { stride?: number; padding?: number; outputPadding?: number; dilation?: number } = {},
): TransposedConvTerms {
  const { stride = 1, padding = 0, dilation = 1 } = options;
  if (x.length === 0) throw new Error("transposedConvTerms: x is empty");
  const g = resolveConvTranspose1d("transposedConvTerms", kernel.length, options);
  const outSize = convTransposeOutput("transposedConvTerms", g, [1, x.length])[1];
  const full = (x.length - 1) * stride + dilation * (kernel.length - 1) + 1;
  // Columns: the full axis, extended on the right when output padding reaches past it.
  const columns = Math.max(full, padding + outSize);
  const rows = x.map((v, u) => {
    const row = new Array<number>(columns).fill(0);
    kernel.forEach((k, a) => {
      row[u * stride + a * dilation] = v * k;
    });
    return row;
  });
  const sum = new Array<number>(columns)
    .fill(0)
    .map((_, f) => rows.reduce((acc, r) => acc + r[f]!, 0));
  const columnLabels = sum.map((_, f) => {
    const j = f - padding;
    if (j < 0 || j >= outSize) return `cut ${f}`;
    return f >= full ? `y[${j}]+` : `y[${j}]`;
  });
  return {
    rows: [...rows, sum],
    rowLabels: [...x.map((v, u) => `x[${u}] = ${v}`), "sum"],
    columnLabels,
    output: sum.slice(padding, padding + outSize),
  };
}
