/**
 * The filter gradient of a 2-D convolution as a forward convolution (lecture 7.1: the
 * backward pass of a convolution is a convolution), for any backend whose forward Conv2D
 * is fast: XNNPACK on wasm, the matrix-multiply programs on webgpu (whose own
 * Conv2DBackpropFilter loops over N x H x W per weight: 26 times slower here).
 *
 * Forward (NHWC): y[n,i,j,o] = sum_{a,b,c} x[n, i*sh + a*dh - top, j*sw + b*dw - left, c] w[a,b,c,o]
 *
 * dw[a,b,c,o] = sum_{n,i,j} x[..] dy[n,i,j,o]: a convolution of x with batch and channels
 * exchanged ([C, H, W, N]) by the filter dy ([oh, ow, N, O]), the forward stride acting as
 * dilation and the forward dilation as stride.
 */
import * as tf from "@tensorflow/tfjs";
import { callKernel, dims4, free, type Info } from "./kernel-calls";

type Pad = tf.Conv2DAttrs["pad"];
type Rounding = tf.Conv2DAttrs["dimRoundingMode"];
type Pair = number | [number, number];

function pair(v: Pair | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === "number" ? [v, v] : v;
}

/** The attributes both backprop kernels take. */
export interface BackpropAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: Rounding;
  /** Not passed by tfjs today (its conv gradients refuse dilation), accepted all the same. */
  dilations?: Pair;
}

interface BackpropFilterAttrs extends BackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Checks the data format and resolves the forward convolution's geometry. */
export function forwardInfo(
  op: string,
  backendName: string,
  attrs: BackpropAttrs,
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new Error(
      `${op} on ${backendName}: dataFormat '${attrs.dataFormat}' is not supported; ` +
        "use 'NHWC' (channels last)",
    );
  }
  return tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    pair(attrs.dilations),
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** The backend's forward Conv2D with explicit, non-negative padding [top, bottom, left, right]. */
export function convExplicit(
  backendName: string,
  backend: tf.KernelBackend,
  x: Info,
  filter: Info,
  strides: [number, number],
  dilations: [number, number],
  [top, bottom, left, right]: [number, number, number, number],
): Info {
  const pad = [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
  return callKernel(
    backendName,
    backend,
    "Conv2D",
    { x, filter },
    {
      strides,
      dilations,
      pad,
      dataFormat: "NHWC",
    },
  );
}

/** dw = conv(x^T, dy^T): [C, H, W, N] * [oh, ow, N, O] -> [C, kh, kw, O] -> [kh, kw, C, O]. */
function conv2DBackpropFilter(backendName: string, args: Parameters<tf.KernelFunc>[0]): Info {
  const backend = args.backend as tf.KernelBackend;
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  const info = forwardInfo("Conv2DBackpropFilter", backendName, attrs, dims4(x), attrs.filterShape);
  const { inHeight: H, inWidth: W, inChannels: C, outChannels: O } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  // dy's own size: tfjs-core's conv gradients drop dimRoundingMode, so info's may differ.
  const [, oh, ow] = dims4(dy);
  const { top, left } = info.padInfo;
  // Bottom/right padding so that the output covers exactly kh x kw taps; when the forward
  // convolution ignored the last rows, the output has extra taps that we slice away.
  const bottom = Math.max(0, (kh - 1) * dh + (oh - 1) * sh + 1 - H - top);
  const right = Math.max(0, (kw - 1) * dw + (ow - 1) * sw + 1 - W - left);
  const call = (name: string, inputs: Record<string, Info>, a: Record<string, unknown>): Info =>
    callKernel(backendName, backend, name, inputs, a);

  const xT = call("Transpose", { x }, { perm: [3, 1, 2, 0] });
  const dyT = call("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
  const pads: [number, number, number, number] = [top, bottom, left, right];
  let g = convExplicit(backendName, backend, xT, dyT, [dh, dw], [sh, sw], pads);
  free(backend, xT, dyT);
  if (g.shape[1] !== kh || g.shape[2] !== kw) {
    const cut = call("Slice", { x: g }, { begin: [0, 0, 0, 0], size: [C, kh, kw, O] });
    free(backend, g);
    g = cut;
  }
  const out = call("Transpose", { x: g }, { perm: [1, 2, 0, 3] });
  free(backend, g);
  return out;
}

/** Conv2DBackpropFilter for `backendName`, through that backend's own Conv2D. */
export function conv2DBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: "Conv2DBackpropFilter",
    backendName,
    kernelFunc: (args) => conv2DBackpropFilter(backendName, args),
  };
}
