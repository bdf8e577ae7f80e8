/**
 * The matrix view of lecture 7.1: a 1-D convolution is a banded matrix M (one row per
 * output, the kernel shifted by the stride along each row), and the transposed convolution
 * is multiplication by M^T.
 */
import { convOutput, resolveConv1d } from "../geometry";

/**
 * The [W' x W] matrix M with conv1d(x, kernel) = M x for a single-channel signal of
 * length `inputSize`: row i holds the (dilated) kernel starting at column i s - p.
 * For w = 3, W = 7 this is the lecture's 5 x 7 matrix.
 */
export function convMatrix(
  kernel: readonly number[],
  inputSize: number,
  options: { stride?: number; padding?: number; dilation?: number } = {},
): number[][] {
  const { stride = 1, padding = 0, dilation = 1 } = options;
  if (!Number.isInteger(inputSize) || inputSize <= 0) {
    throw new Error(`convMatrix: inputSize must be a positive integer, got ${inputSize}`);
  }
  const g = resolveConv1d("convMatrix", kernel.length, { stride, padding, dilation });
  const outSize = convOutput("convMatrix", g, [1, inputSize])[1];
  const m: number[][] = [];
  for (let i = 0; i < outSize; i++) {
    const row = new Array<number>(inputSize).fill(0);
    kernel.forEach((k, a) => {
      const u = i * stride + a * dilation - padding;
      if (u >= 0 && u < inputSize) row[u] = k;
    });
    m.push(row);
  }
  return m;
}

/** The transpose of a matrix given as rows. */
export function transpose(m: readonly (readonly number[])[]): number[][] {
  const cols = m[0]?.length ?? 0;
  const t: number[][] = [];
  for (let j = 0; j < cols; j++) t.push(m.map((row) => row[j]!));
  return t;
}

/** Matrix-vector product M v. */
export function matVec(m: readonly (readonly number[])[], v: readonly number[]): number[] {
  return m.map((row) => {
    if (row.length !== v.length) {
      throw new Error(
        `matVec: matrix rows have ${row.length} columns but the vector has ${v.length} values`,
      );
    }
    return row.reduce((acc, mij, j) => acc + mij * v[j]!, 0);
  });
}
