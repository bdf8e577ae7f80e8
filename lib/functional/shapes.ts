/**
 * Argument checking and output-size rules of the PyTorch convolutions, kept apart from
 * the tfjs code so that the reference implementations, the banded matrices and the
 * notebook share one definition of every size.
 */

/** A per-dimension value for 2-D operations: [height, width]. */
export type Pair = [number, number];

/** Options of conv1d (PyTorch's F.conv1d; `groups` is not supported). */
export interface Conv1dOptions {
  stride?: number;
  /** Zeros added on both sides; "valid" = 0, "same" keeps the size (stride 1 only). */
  padding?: number | "valid" | "same";
  dilation?: number;
}

/** Options of conv2d (PyTorch's F.conv2d; `groups` is not supported). */
export interface Conv2dOptions {
  stride?: number | Pair;
  padding?: number | Pair | "valid" | "same";
  dilation?: number | Pair;
}

/** Options of convTranspose1d (PyTorch's F.conv_transpose1d; `groups` is not supported). */
export interface ConvTranspose1dOptions {
  stride?: number;
  /** Cropped from both ends of the full transposed convolution. */
  padding?: number;
  /** Extra size added on one side of the output; must be smaller than stride or dilation. */
  outputPadding?: number;
  dilation?: number;
}

/** Options of convTranspose2d (PyTorch's F.conv_transpose2d; `groups` is not supported). */
export interface ConvTranspose2dOptions {
  stride?: number | Pair;
  padding?: number | Pair;
  outputPadding?: number | Pair;
  dilation?: number | Pair;
}

/** Fully resolved 2-D convolution parameters (1-D ones use height 1). */
export interface ConvSpec {
  stride: Pair;
  padBefore: Pair;
  padAfter: Pair;
  dilation: Pair;
}

/** Fully resolved 2-D transposed-convolution parameters. */
export interface ConvTransposeSpec {
  stride: Pair;
  padding: Pair;
  outputPadding: Pair;
  dilation: Pair;
}

/** Size of a convolution's output: floor((W + 2p - d(k-1) - 1) / s) + 1. */
export function convOutputSize(
  inputSize: number,
  kernelSize: number,
  options: { stride?: number; padding?: number; dilation?: number } = {},
): number {
  const { stride = 1, padding = 0, dilation = 1 } = options;
  return Math.floor((inputSize + 2 * padding - dilation * (kernelSize - 1) - 1) / stride) + 1;
}

/** Size of a transposed convolution's output: (W-1)s - 2p + d(k-1) + output_padding + 1. */
export function convTransposeOutputSize(
  inputSize: number,
  kernelSize: number,
  options: { stride?: number; padding?: number; outputPadding?: number; dilation?: number } = {},
): number {
  const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
  return (inputSize - 1) * stride - 2 * padding + dilation * (kernelSize - 1) + outputPadding + 1;
}

function checkInt(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    const what = min === 0 ? "a non-negative integer" : `an integer >= ${min}`;
    throw new Error(`${op}: ${name} must be ${what}, got ${v}`);
  }
}

/** Expands a number or pair to a pair, checking each value. */
export function toPair(op: string, name: string, v: number | Pair, min: number): Pair {
  let pair: Pair;
  if (typeof v === "number") {
    pair = [v, v];
  } else if (Array.isArray(v) && v.length === 2) {
    pair = [v[0], v[1]];
  } else {
    throw new Error(`${op}: ${name} must be a number or a pair [height, width], got ${String(v)}`);
  }
  checkInt(op, name, pair[0], min);
  checkInt(op, name, pair[1], min);
  return pair;
}

/** Resolves conv options for 2-D (1-D callers pass [1, k] kernels and height-1 values). */
export function convSpec(
  op: string,
  kernel: Pair,
  options: {
    stride: number | Pair;
    padding: number | Pair | "valid" | "same";
    dilation: number | Pair;
  },
): ConvSpec {
  const stride = toPair(op, "stride", options.stride, 1);
  const dilation = toPair(op, "dilation", options.dilation, 1);
  const { padding } = options;
  if (padding === "valid") return { stride, dilation, padBefore: [0, 0], padAfter: [0, 0] };
  if (padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new Error(
        `${op}: padding "same" is not supported for strided convolutions (as in PyTorch); give the padding as a number`,
      );
    }
    // PyTorch puts the odd extra zero on the right / bottom.
    const total: Pair = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    const before: Pair = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    return {
      stride,
      dilation,
      padBefore: before,
      padAfter: [total[0] - before[0], total[1] - before[1]],
    };
  }
  if (typeof padding === "string") {
    throw new Error(`${op}: padding must be a number, a pair, "valid" or "same", got "${padding}"`);
  }
  const p = toPair(op, "padding", padding, 0);
  return { stride, dilation, padBefore: p, padAfter: p };
}

/** Resolves transposed-conv options, with PyTorch's output-padding rule. */
export function convTransposeSpec(
  op: string,
  options: {
    stride: number | Pair;
    padding: number | Pair;
    outputPadding: number | Pair;
    dilation: number | Pair;
  },
): ConvTransposeSpec {
  const stride = toPair(op, "stride", options.stride, 1);
  const dilation = toPair(op, "dilation", options.dilation, 1);
  const padding = toPair(op, "padding", options.padding, 0);
  const outputPadding = toPair(op, "outputPadding", options.outputPadding, 0);
  for (let i = 0; i < 2; i++) {
    const op_ = outputPadding[i] as number;
    const s = stride[i] as number;
    const d = dilation[i] as number;
    if (op_ >= Math.max(s, d)) {
      throw new Error(
        `${op}: output padding must be smaller than either stride or dilation, got outputPadding ${op_} with stride ${s} and dilation ${d}`,
      );
    }
  }
  return { stride, dilation, padding, outputPadding };
}

/** Throws unless a shape has the given rank. */
export function checkRank(
  op: string,
  what: string,
  shape: readonly number[],
  ranks: number[],
  hint: string,
): void {
  if (!ranks.includes(shape.length)) {
    throw new Error(
      `${op}: ${what} must have rank ${ranks.join(" or ")} (${hint}), got shape [${shape.join(", ")}]`,
    );
  }
}
