/**
 * Coverage maps for the grid artifacts of transposed convolutions: how many kernel
 * placements touch each output pixel. Uneven counts (e.g. a 4 x 4 kernel with stride 3)
 * are where checkerboard patterns come from.
 */
import { convTransposeOutput, resolveConvTranspose } from "../geometry";

/** Options of coverageMap; the transposed convolution's parameters. */
export interface CoverageOptions {
  stride: number;
  padding?: number;
  outputPadding?: number;
  dilation?: number;
}

/**
 * Counts, for a transposed convolution of a `inputSize` x `inputSize` map with a
 * `kernelSize` x `kernelSize` kernel, the kernel placements covering each output pixel
 * (the transposed convolution of all-ones input with an all-ones kernel).
 */
export function coverageMap(
  inputSize: number,
  kernelSize: number,
  options: CoverageOptions,
): number[][] {
  const { stride, padding = 0, outputPadding = 0, dilation = 1 } = options;
  if (!Number.isInteger(inputSize) || inputSize <= 0) {
    throw new Error(`coverageMap: inputSize must be a positive integer, got ${inputSize}`);
  }
  const g = resolveConvTranspose("coverageMap", kernelSize, {
    stride,
    padding,
    outputPadding,
    dilation,
  });
  const n = convTransposeOutput("coverageMap", g, [inputSize, inputSize])[0];
  // Separable: count per axis, then take the outer product.
  const line = new Array<number>(n).fill(0);
  for (let u = 0; u < inputSize; u++) {
    for (let a = 0; a < kernelSize; a++) {
      const j = u * stride + a * dilation - padding;
      if (j >= 0 && j < n) line[j] = line[j]! + 1;
    }
  }
  return line.map((r) => line.map((c) => r * c));
}
