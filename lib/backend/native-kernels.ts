/**
 * The wasm backend's hot kernels run by the native addon: on oneDNN, convolutions forward
 * (bias and activation fused), their two gradients (the transposed convolution's forward is
 * the input gradient) and matrix products; in the addon's own loops, the splits, concats,
 * bias-gradient sums and max-pool gradients around them. Each reads its inputs and writes
 * its output in place in the wasm heap, so the rest of the backend (element-wise ops, Adam)
 * is untouched and no tensor is copied. A call the addon does not cover (NCHW, PReLU, an odd
 * bias, another dtype) goes to the kernel it replaced.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { poolInfo, type PoolAttrs } from "./kernel-calls";
import type { NativeAddon } from "./native";

type Info = tf.TensorInfo;
type Conv2DInfo = tf.backend_util.Conv2DInfo;
type Pair = number | [number, number];
type Pad = tf.Conv2DAttrs["pad"];
type Rounding = tf.Conv2DAttrs["dimRoundingMode"];

/** Activation codes of native/src/kernels.h. */
const ACTIVATIONS: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: Pair;
  dimRoundingMode?: Rounding;
  activation?: string;
  leakyreluAlpha?: number;
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/** The addon's view of one call: the heap, and where each tensor lies in it (in floats). */
class Heap {
  constructor(private readonly backend: BackendWasm) {}
  get floats(): Float32Array {
    // Read after every allocation: a growing heap replaces the array.
    return (this.backend.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32;
  }
  at(info: Info): number {
    return this.backend.getMemoryOffset(info.dataId) / 4;
  }
  output(shape: number[]): Info {
    return this.backend.makeOutput(shape, "float32");
  }
}

const float32 = (...infos: Info[]): boolean => infos.every((i) => i.dtype === "float32");
const empty = (...infos: Info[]): boolean => infos.some((i) => i.shape.some((d) => d === 0));

/**
 * The geometry array of native/src/addon.cc, with the output's own size (oh, ow): the bottom
 * and right padding are chosen so that oneDNN's floor((in + pads - kernel) / stride) + 1
 * gives it. null when no non-negative padding does (the call goes to the replaced kernel).
 */
function geometry(info: Conv2DInfo, oh: number, ow: number): Int32Array | null {
  const { top, left } = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  const needH = (oh - 1) * info.strideHeight + effH - info.inHeight - top;
  const needW = (ow - 1) * info.strideWidth + effW - info.inWidth - left;
  if (needH <= -info.strideHeight || needW <= -info.strideWidth || top < 0 || left < 0) return null;
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    oh,
    ow,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    Math.max(0, needH),
    Math.max(0, needW),
  ]);
}

function convInfo(inShape: number[], filterShape: number[], attrs: ConvAttrs): Conv2DInfo | null {
  if (attrs.dataFormat === "NCHW" || inShape.length !== 4 || filterShape.length !== 4) return null;
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

interface SplitAttrs {
  numOrSizeSplits: number | number[];
  axis: number | number[];
}

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

type Attrs = ConvAttrs & MatMulAttrs & SplitAttrs & ReduceAttrs & PoolAttrs;

/** A native kernel: its output(s), or null for a call it does not cover. */
type Run = (heap: Heap, inputs: tf.NamedTensorInfoMap, attrs: Attrs) => Info | Info[] | null;

/** Wraps `original`, which runs the calls `run` does not cover. */
function withFallback(original: tf.KernelConfig, run: Run): tf.KernelConfig {
  const kernelFunc = (args: Parameters<tf.KernelFunc>[0]): Info | Info[] => {
    if (enabled) {
      const attrs = args.attrs as unknown as Attrs;
      const out = run(new Heap(args.backend as BackendWasm), args.inputs, attrs);
      if (out !== null) return out;
    }
    return original.kernelFunc(args);
  };
  return { ...original, kernelFunc: kernelFunc as tf.KernelFunc };
}

function convForward(addon: NativeAddon): Run {
  return (heap, inputs, attrs) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, Info | undefined>;
    if (x === undefined || filter === undefined || preluActivationWeights !== undefined)
      return null;
    const code = ACTIVATIONS[attrs.activation ?? "linear"];
    if (code === undefined || !float32(x, filter) || empty(x, filter)) return null;
    const info = convInfo(x.shape, filter.shape, attrs);
    if (info === null) return null;
    // A bias of one value per output channel ([O], [1, 1, 1, O], ...); others broadcast otherwise.
    if (bias !== undefined) {
      const size = bias.shape.reduce((a, b) => a * b, 1);
      if (!float32(bias) || size !== info.outChannels || bias.shape.at(-1) !== size) return null;
    }
    const g = geometry(info, info.outHeight, info.outWidth);
    if (g === null) return null;
    const y = heap.output([info.batchSize, info.outHeight, info.outWidth, info.outChannels]);
    const b = bias === undefined ? -1 : heap.at(bias);
    const alpha = attrs.leakyreluAlpha ?? 0.2;
    addon.convForward(heap.floats, g, heap.at(x), heap.at(filter), b, heap.at(y), code, alpha);
    return y;
  };
}

/**
 * The two gradients of a convolution: the input's (Conv2DBackpropInput: dy and the filter,
 * also conv2dTranspose's forward) and the filter's (Conv2DBackpropFilter: x and dy). The
 * geometry is the forward convolution's at dy's own size: tfjs's conv gradients drop
 * dimRoundingMode, so the one computed from the attributes may differ.
 */
function convGradient(addon: NativeAddon, which: "input" | "filter"): Run {
  return (heap, inputs, attrs) => {
    const { x, dy, filter } = inputs as Record<string, Info | undefined>;
    const [a, b] = which === "input" ? [dy, filter] : [x, dy];
    const out = which === "input" ? attrs.inputShape : attrs.filterShape;
    if (a === undefined || b === undefined || out === undefined) return null;
    if (!float32(a, b) || empty(a, b) || out.some((d) => d === 0)) return null;
    const [inShape, filterShape] = which === "input" ? [out, b.shape] : [a.shape, out];
    const grad = which === "input" ? a : b;
    const info = convInfo(inShape, filterShape, attrs);
    const g = info === null ? null : geometry(info, grad.shape[1]!, grad.shape[2]!);
    if (g === null) return null;
    const result = heap.output([...out]);
    const code = which === "input" ? 0 : 1;
    addon.convBackward(heap.floats, g, code, heap.at(a), heap.at(b), heap.at(result));
    return result;
  };
}

function matmul(addon: NativeAddon): Run {
  return (heap, inputs, attrs) => {
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, Info | undefined>;
    if (a === undefined || b === undefined || preluActivationWeights !== undefined) return null;
    const code = ACTIVATIONS[attrs.activation ?? "linear"];
    if (code === undefined || !float32(a, b) || empty(a, b)) return null;
    if (a.shape.length < 2 || b.shape.length < 2) return null;
    const [m, k] = attrs.transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
    const [kb, n] = attrs.transposeB ? b.shape.slice(-2).reverse() : b.shape.slice(-2);
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = outerA.reduce((p, d) => p * d, 1);
    const batchB = outerB.reduce((p, d) => p * d, 1);
    // Equal batches, or one side without batch (broadcast); tfjs's other broadcasts go back.
    const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
    if (k !== kb || !(same || batchA === 1 || batchB === 1)) return null;
    if (bias !== undefined) {
      const size = bias.shape.reduce((p, d) => p * d, 1);
      if (!float32(bias) || size !== n || bias.shape.at(-1) !== n) return null;
    }
    const outer = batchA >= batchB ? outerA : outerB;
    const batch = Math.max(batchA, batchB);
    const c = heap.output([...outer, m as number, n as number]);
    const sizes = Int32Array.from([batch, batchA, batchB, m as number, n as number, k as number]);
    const dims = Int32Array.from([...sizes, attrs.transposeA ? 1 : 0, attrs.transposeB ? 1 : 0]);
    const alpha = attrs.leakyreluAlpha ?? 0.2;
    const biasAt = bias === undefined ? -1 : heap.at(bias);
    addon.matmul(heap.floats, dims, heap.at(a), heap.at(b), biasAt, heap.at(c), code, alpha);
    return c;
  };
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** SplitV: each piece is `rows` runs of its width taken out of every row of x. */
function splitV(addon: NativeAddon): Run {
  return (heap, inputs, attrs) => {
    const { x } = inputs as { x: Info };
    if (!float32(x) || empty(x)) return null;
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
    if (sizes.some((s) => s === 0)) return null;
    const rows = size(x.shape.slice(0, axis));
    const inner = size(x.shape.slice(axis + 1));
    const stride = x.shape[axis]! * inner;
    const outs = sizes.map((s) => heap.output(x.shape.map((d, i) => (i === axis ? s : d))));
    let begin = 0;
    for (const [i, out] of outs.entries()) {
      const run = sizes[i]! * inner;
      addon.copyRows(heap.floats, heap.at(x) + begin, stride, heap.at(out), run, rows, run);
      begin += run;
    }
    return outs;
  };
}

/** Concat: every input's rows copied into its columns of the output's rows. */
function concat(addon: NativeAddon): Run {
  return (heap, inputs, attrs) => {
    const list = Object.values(inputs) as Info[];
    const first = list[0];
    if (first === undefined || !float32(...list) || empty(...list) || list.length < 2) return null;
    const axis = tf.util.parseAxisParam(attrs.axis, first.shape)[0]!;
    const shapes = list.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const rows = size(first.shape.slice(0, axis));
    const stride = size(outShape.slice(axis));
    const out = heap.output(outShape);
    let begin = 0;
    for (const t of list) {
      const run = size(t.shape.slice(axis));
      addon.copyRows(heap.floats, heap.at(t), run, heap.at(out) + begin, stride, rows, run);
      begin += run;
    }
    return out;
  };
}

/** Sum over leading axes ([N, H, W, C] -> [C]: a bias gradient); other sums go back. */
function sum(addon: NativeAddon): Run {
  return (heap, inputs, attrs) => {
    const { x } = inputs as { x: Info };
    if (!float32(x) || empty(x)) return null;
    const axes = tf.util
      .parseAxisParam(attrs.axis, x.shape)
      .slice()
      .sort((a, b) => a - b);
    const leading =
      axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
    if (!leading) return null;
    const inner = x.shape.slice(axes.length);
    const out = heap.output(attrs.keepDims ? [...axes.map(() => 1), ...inner] : inner);
    const rows = size(x.shape.slice(0, axes.length));
    addon.sumRows(heap.floats, heap.at(x), rows, size(inner), heap.at(out));
    return out;
  };
}

function maxPoolGrad(addon: NativeAddon): Run {
  return (heap, inputs, attrs) => {
    const { dy, input } = inputs as { dy: Info; input: Info };
    if (!float32(dy, input) || empty(dy, input) || input.shape.length !== 4) return null;
    const info = poolInfo(input, attrs);
    const { top, left } = info.padInfo;
    const g = Int32Array.from([
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.dilationHeight,
      info.dilationWidth,
      top,
      left,
    ]);
    const dx = heap.output(input.shape);
    addon.maxPoolGrad(heap.floats, g, heap.at(input), heap.at(dy), heap.at(dx));
    return dx;
  };
}

let enabled = true;

/**
 * Sends the kernels back to the ones they replaced (false) or to the addon (true): how the
 * tests compare both paths in one process. Returns the previous setting.
 */
export function setNativeKernels(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

let registered: string[] | null = null;

/**
 * Replaces the wasm backend's convolution and matrix-product kernels (ours or XNNPACK's,
 * registered before) by the addon's. Once per process; returns the kernels' names.
 */
export function registerNativeKernels(addon: NativeAddon): string[] {
  if (registered !== null) return registered;
  const plan: [string, Run][] = [
    ["Conv2D", convForward(addon)],
    ["FusedConv2D", convForward(addon)],
    ["Conv2DBackpropInput", convGradient(addon, "input")],
    ["Conv2DBackpropFilter", convGradient(addon, "filter")],
    ["BatchMatMul", matmul(addon)],
    ["_FusedMatMul", matmul(addon)],
    ["SplitV", splitV(addon)],
    ["Concat", concat(addon)],
    ["Sum", sum(addon)],
    ["MaxPoolGrad", maxPoolGrad(addon)],
  ];
  for (const [name, run] of plan) {
    const original = tf.getKernel(name, "wasm");
    if (original === undefined) throw new Error(`wasm backend has no ${name} kernel to replace`);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(withFallback(original, run));
  }
  registered = plan.map(([name]) => name);
  return registered;
}
