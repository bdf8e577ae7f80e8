/**
 * The one resolver of convolution and pooling geometry: kernel, stride, padding, output
 * padding and dilation checked with PyTorch's rules and messages, and the output-size
 * formulas. The tfjs cores, the modules, the plain references and the 7.1 figures all take
 * their sizes from here.
 */

/** A per-dimension value for 2-D operations: [height, width]. */
export type Pair = [number, number];

/** PyTorch's padding argument: zeros on both sides, or "valid" (none) / "same" (stride 1). */
export type Padding = number | Pair | "valid" | "same";

/** Options of a convolution (PyTorch's F.conv2d / nn.Conv2d; `groups` is not supported). */
export interface ConvOptions {
  stride?: number | Pair;
  padding?: Padding;
  dilation?: number | Pair;
}

/** Options of a transposed convolution (F.conv_transpose2d / nn.ConvTranspose2d). */
export interface ConvTransposeOptions {
  stride?: number | Pair;
  /** Cropped from both ends of the full transposed convolution. */
  padding?: number | Pair;
  /** Extra rows/columns at the bottom/right; smaller than the stride or the dilation. */
  outputPadding?: number | Pair;
  dilation?: number | Pair;
}

/** A convolution's resolved geometry (1-D convolutions use height 1). */
export interface ConvGeometry {
  kernel: Pair;
  stride: Pair;
  padBefore: Pair;
  padAfter: Pair;
  dilation: Pair;
}

/** A transposed convolution's resolved geometry. */
export interface ConvTransposeGeometry {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
  outputPadding: Pair;
  dilation: Pair;
}

function checkInt(op: string, name: string, v: unknown, min: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    const what = min === 0 ? "a non-negative integer" : `an integer >= ${min}`;
    throw new Error(`${op}: ${name} must be ${what}, got ${String(v)}`);
  }
}

/** Expands a number or pair to a pair, checking each value is an integer >= min. */
function toPair(op: string, name: string, v: number | Pair, min: number): Pair {
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

/** Throws unless a shape has one of the given ranks. */
export function checkRank(
  op: string,
  what: string,
  shape: readonly number[],
  ranks: readonly number[],
  hint: string,
): void {
  if (!ranks.includes(shape.length)) {
    throw new Error(
      `${op}: ${what} must have rank ${ranks.join(" or ")} (${hint}), got shape [${shape.join(", ")}]`,
    );
  }
}

/** floor((in + padding - d(k - 1) - 1) / s) + 1, `padding` being the total of both sides. */
function convSize(inSize: number, k: number, s: number, padding: number, d: number): number {
  return Math.floor((inSize + padding - d * (k - 1) - 1) / s) + 1;
}

/** Size of a convolution's output: floor((W + 2p - d(k-1) - 1) / s) + 1. */
export function convOutputSize(
  inputSize: number,
  kernelSize: number,
  options: { stride?: number; padding?: number; dilation?: number } = {},
): number {
  const { stride = 1, padding = 0, dilation = 1 } = options;
  return convSize(inputSize, kernelSize, stride, 2 * padding, dilation);
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

/** Resolves a convolution's options for a kernel of the given size. */
export function resolveConv(
  op: string,
  kernelSize: number | Pair,
  options: ConvOptions = {},
): ConvGeometry {
  const kernel = toPair(op, "kernel size", kernelSize, 1);
  const stride = toPair(op, "stride", options.stride ?? 1, 1);
  const dilation = toPair(op, "dilation", options.dilation ?? 1, 1);
  const padding = options.padding ?? 0;
  if (padding === "valid") return { kernel, stride, dilation, padBefore: [0, 0], padAfter: [0, 0] };
  if (padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new Error(
        `${op}: padding "same" is not supported for strided convolutions (as in PyTorch); give the padding as a number`,
      );
    }
    // PyTorch puts the odd extra zero on the right / bottom.
    const total: Pair = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    const before: Pair = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    const after: Pair = [total[0] - before[0], total[1] - before[1]];
    return { kernel, stride, dilation, padBefore: before, padAfter: after };
  }
  if (typeof padding === "string") {
    throw new Error(`${op}: padding must be a number, a pair, "valid" or "same", got "${padding}"`);
  }
  const p = toPair(op, "padding", padding, 0);
  return { kernel, stride, dilation, padBefore: p, padAfter: p };
}

/** Resolves a transposed convolution's options, with PyTorch's output-padding rule. */
export function resolveConvTranspose(
  op: string,
  kernelSize: number | Pair,
  options: ConvTransposeOptions = {},
): ConvTransposeGeometry {
  const kernel = toPair(op, "kernel size", kernelSize, 1);
  const stride = toPair(op, "stride", options.stride ?? 1, 1);
  const dilation = toPair(op, "dilation", options.dilation ?? 1, 1);
  const padding = toPair(op, "padding", options.padding ?? 0, 0);
  const outputPadding = toPair(op, "outputPadding", options.outputPadding ?? 0, 0);
  for (const i of [0, 1] as const) {
    if (outputPadding[i] >= Math.max(stride[i], dilation[i])) {
      throw new Error(
        `${op}: output padding must be smaller than either stride or dilation, got outputPadding ${outputPadding[i]} with stride ${stride[i]} and dilation ${dilation[i]}`,
      );
    }
  }
  return { kernel, stride, dilation, padding, outputPadding };
}

/** The dilated kernel's extent, d(k - 1) + 1, per axis. */
export function dilatedKernel(g: { kernel: Pair; dilation: Pair }): Pair {
  return [g.dilation[0] * (g.kernel[0] - 1) + 1, g.dilation[1] * (g.kernel[1] - 1) + 1];
}

/**
 * A convolution's output size for an input of [h, w]; throws PyTorch's error when the
 * padded input is smaller than the dilated kernel.
 */
export function convOutput(op: string, g: ConvGeometry, [h, w]: Pair): Pair {
  const paddedH = h + g.padBefore[0] + g.padAfter[0];
  const paddedW = w + g.padBefore[1] + g.padAfter[1];
  const [effH, effW] = dilatedKernel(g);
  if (paddedH < effH || paddedW < effW) {
    throw new Error(
      `${op}: calculated padded input size per channel (${paddedH} x ${paddedW}) is smaller than the dilated kernel size (${effH} x ${effW}); the kernel can't be greater than the actual input size`,
    );
  }
  return [
    convSize(h, g.kernel[0], g.stride[0], g.padBefore[0] + g.padAfter[0], g.dilation[0]),
    convSize(w, g.kernel[1], g.stride[1], g.padBefore[1] + g.padAfter[1], g.dilation[1]),
  ];
}

/** A transposed convolution's output size for an input of [h, w]; throws when it is empty. */
export function convTransposeOutput(op: string, g: ConvTransposeGeometry, [h, w]: Pair): Pair {
  const size = (i: 0 | 1, n: number): number =>
    convTransposeOutputSize(n, g.kernel[i], {
      stride: g.stride[i],
      padding: g.padding[i],
      outputPadding: g.outputPadding[i],
      dilation: g.dilation[i],
    });
  const out: Pair = [size(0, h), size(1, w)];
  if (out[0] <= 0 || out[1] <= 0) {
    throw new Error(
      `${op}: input ${h} x ${w} gives a calculated output size ${out[0]} x ${out[1]}, which is too small; reduce the padding`,
    );
  }
  return out;
}

/** Pooling geometry (PyTorch's defaults: stride = kernel size, no padding). */
export interface PoolGeometry {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}

/**
 * Resolves pooling options with PyTorch's checks: padding at most half the kernel, and a
 * padded input at least as large as the kernel (given [h, w]).
 */
export function resolvePool(
  op: string,
  kernelSize: number | Pair,
  options: { stride?: number | Pair; padding?: number | Pair } = {},
): PoolGeometry {
  const kernel = toPair(op, "kernel size", kernelSize, 1);
  const stride = toPair(op, "stride", options.stride ?? kernel, 1);
  const padding = toPair(op, "padding", options.padding ?? 0, 0);
  if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2) {
    throw new Error(
      `${op}: padding [${padding.join(", ")}] must be at most half the kernel size [${kernel.join(", ")}]`,
    );
  }
  return { kernel, stride, padding };
}

/** Pooling output size for an input of [h, w]: floor((in + 2p - k) / s) + 1. */
export function poolOutput(op: string, g: PoolGeometry, [h, w]: Pair): Pair {
  if (h + 2 * g.padding[0] < g.kernel[0] || w + 2 * g.padding[1] < g.kernel[1]) {
    throw new Error(
      `${op}: padded input ${h + 2 * g.padding[0]} x ${w + 2 * g.padding[1]} is smaller than the kernel ${g.kernel[0]} x ${g.kernel[1]}`,
    );
  }
  return [
    convSize(h, g.kernel[0], g.stride[0], 2 * g.padding[0], 1),
    convSize(w, g.kernel[1], g.stride[1], 2 * g.padding[1], 1),
  ];
}

/** Options of a 1-D convolution (F.conv1d / nn.Conv1d). */
export interface Conv1dOptions {
  stride?: number;
  /** Zeros added on both sides; "valid" = 0, "same" keeps the size (stride 1 only). */
  padding?: number | "valid" | "same";
  dilation?: number;
}

/** Options of a 1-D transposed convolution (F.conv_transpose1d / nn.ConvTranspose1d). */
export interface ConvTranspose1dOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  dilation?: number;
}

function scalar(op: string, name: string, v: unknown): number {
  if (typeof v !== "number") {
    throw new Error(`${op}: ${name} must be a number for a 1-D operation, got ${String(v)}`);
  }
  return v;
}

/** A 1-D convolution's geometry, as an image of height 1. */
export function resolveConv1d(
  op: string,
  kernelSize: number,
  options: Conv1dOptions = {},
): ConvGeometry {
  const { stride = 1, padding = 0, dilation = 1 } = options;
  const k = scalar(op, "kernel size", kernelSize);
  return resolveConv(op, [1, k], {
    stride: [1, scalar(op, "stride", stride)],
    padding: typeof padding === "string" ? padding : [0, scalar(op, "padding", padding)],
    dilation: [1, scalar(op, "dilation", dilation)],
  });
}

/** A 1-D transposed convolution's geometry, as an image of height 1. */
export function resolveConvTranspose1d(
  op: string,
  kernelSize: number,
  options: ConvTranspose1dOptions = {},
): ConvTransposeGeometry {
  const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
  return resolveConvTranspose(op, [1, scalar(op, "kernel size", kernelSize)], {
    stride: [1, scalar(op, "stride", stride)],
    padding: [0, scalar(op, "padding", padding)],
    outputPadding: [0, scalar(op, "outputPadding", outputPadding)],
    dilation: [1, scalar(op, "dilation", dilation)],
  });
}
