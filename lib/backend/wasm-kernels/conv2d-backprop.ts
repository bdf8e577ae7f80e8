/**
 * The input gradient of a 2-D convolution (also the forward pass of conv2dTranspose) as
 * forward convolutions that the wasm backend's XNNPACK Conv2D runs (lecture 7.1: the
 * backward pass of a convolution is a convolution, "transposed"). The filter gradient, the
 * same on every backend, is in ../conv2d-backprop.ts.
 *
 * Forward (NHWC): y[n,i,j,o] = sum_{a,b,c} x[n, i*sh + a*dh - top, j*sw + b*dw - left, c] w[a,b,c,o]
 *
 * dx = a stride-1 convolution of dy, zero-dilated by the stride and padded by
 * (k - 1) * d - pad, with the spatially reversed filter, in/out channels exchanged. With a
 * stride, most of the dilated dy is zeros: we split dx into its stride x stride phases
 * instead, each a convolution of dy itself with the taps that reach it (sub-pixel
 * convolution).
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { convExplicit, forwardInfo, type BackpropAttrs } from "../conv2d-backprop";
import { dims4, free, make, pad, reshape, slice, view, type Info } from "./calls";

/** Up to this many input channels, dx is computed by backpropInputScatter. */
const SCATTER_MAX_CHANNELS = 4;

/** Forward convolution on wasm with explicit, non-negative padding. */
function conv(
  backend: BackendWasm,
  x: Info,
  filter: Info,
  strides: [number, number],
  dilations: [number, number],
  pads: [number, number, number, number],
): Info {
  return convExplicit("wasm", backend, x, filter, strides, dilations, pads);
}

interface BackpropInputAttrs extends BackpropAttrs {
  inputShape: [number, number, number, number];
}

/** The filter reversed in space with in/out channels exchanged: [kh, kw, C, O] -> [kh, kw, O, C]. */
function flipFilter(backend: BackendWasm, filter: Info): Info {
  const [kh, kw, C, O] = dims4(filter);
  const src = view(backend, filter).slice();
  return make(backend, [kh, kw, O, C], (dst) => {
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const from = ((kh - 1 - a) * kw + (kw - 1 - b)) * C * O;
        const to = (a * kw + b) * O * C;
        for (let c = 0; c < C; c++) {
          for (let o = 0; o < O; o++) dst[to + o * C + c] = src[from + c * O + o]!;
        }
      }
    }
  });
}

/** dy with (s - 1) zeros inserted between rows and columns: [N, oh, ow, O] -> [N, oh*sh, ow*sw, O]. */
function zeroDilate(backend: BackendWasm, dy: Info, sh: number, sw: number): Info {
  const [N, oh, ow, O] = dims4(dy);
  const r = reshape(backend, dy, [N, oh, 1, ow, 1, O]);
  const p = pad(backend, r, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  free(backend, r);
  const out = reshape(backend, p, [N, oh * sh, ow * sw, O]);
  free(backend, p);
  return out;
}

/** One output phase along one axis: rows p with (p + pad) % stride === rho. */
interface Phase {
  rho: number;
  /** Filter taps that reach this phase: rho, rho + s, ... < k. */
  taps: number;
  /** Padding above dy for this phase's convolution (< 0: rows of dy to skip). */
  before: number;
}

/** Sub-pixel plan along one axis of size `size` (dy has `n` rows), stride s > 1, dilation 1. */
function phases(k: number, s: number, pad: number, size: number, n: number) {
  // Output p = q * s + rho - pad, q in [lo, hi] common to all phases (extra rows are cut).
  const lo = Math.ceil((pad - (s - 1)) / s);
  const hi = Math.floor((size - 1 + pad) / s);
  const list: Phase[] = [];
  for (let rho = 0; rho < s; rho++) {
    const taps = rho < k ? Math.ceil((k - rho) / s) : 0;
    list.push({ rho, taps, before: taps - 1 - lo });
  }
  // Padding below dy, the same for every phase (< 0: rows of dy that no output needs).
  return { lo, count: hi - lo + 1, after: hi + 1 - n, list };
}

/**
 * dx for stride > 1 without multiplying by the zeros of the dilated dy: each of the
 * sh * sw output phases is a stride-1 convolution of dy with the sub-filter of the taps
 * that reach it; the phases are then interleaved.
 */
function backpropInputSubPixel(
  backend: BackendWasm,
  dy: Info,
  filter: Info,
  inShape: [number, number, number, number],
  [sh, sw]: [number, number],
  [top, left]: [number, number],
): Info {
  const [N, H, W, C] = inShape;
  const [kh, kw, , O] = dims4(filter);
  const [, oh, ow] = dims4(dy);
  const rows = phases(kh, sh, top, H, oh);
  const cols = phases(kw, sw, left, W, ow);
  const weights = view(backend, filter).slice();
  const parts: { ph: Phase; pw: Phase; y: Info }[] = [];
  for (const ph of rows.list) {
    for (const pw of cols.list) {
      if (ph.taps === 0 || pw.taps === 0) continue;
      // Sub-filter, reversed and with channels exchanged: v[t, u, o, c] = w[a, b, c, o].
      const [th, tw] = [ph.taps, pw.taps];
      const v = make(backend, [th, tw, O, C], (dst) => {
        for (let t = 0; t < th; t++) {
          const a = ph.rho + sh * (th - 1 - t);
          for (let u = 0; u < tw; u++) {
            const b = pw.rho + sw * (tw - 1 - u);
            const from = (a * kw + b) * C * O;
            const to = (t * tw + u) * O * C;
            for (let c = 0; c < C; c++) {
              for (let o = 0; o < O; o++) dst[to + o * C + c] = weights[from + c * O + o]!;
            }
          }
        }
      });
      // Negative padding: skip those rows/columns of dy instead.
      const skipTop = Math.max(0, -ph.before);
      const skipLeft = Math.max(0, -pw.before);
      const skipBottom = Math.max(0, -rows.after);
      const skipRight = Math.max(0, -cols.after);
      let src = dy;
      if (skipTop + skipLeft + skipBottom + skipRight > 0) {
        src = slice(
          backend,
          dy,
          [0, skipTop, skipLeft, 0],
          [N, oh - skipTop - skipBottom, ow - skipLeft - skipRight, O],
        );
      }
      const pads: [number, number, number, number] = [
        Math.max(0, ph.before),
        Math.max(0, rows.after),
        Math.max(0, pw.before),
        Math.max(0, cols.after),
      ];
      const y = conv(backend, src, v, [1, 1], [1, 1], pads);
      free(backend, v);
      if (src !== dy) free(backend, src);
      if (y.shape[1] !== rows.count || y.shape[2] !== cols.count) {
        throw new Error(
          `Conv2DBackpropInput: phase output ${y.shape} is not ${rows.count}x${cols.count}`,
        );
      }
      parts.push({ ph, pw, y });
    }
  }
  const out = backend.makeOutput([N, H, W, C], "float32");
  const dst = view(backend, out);
  if (parts.length < sh * sw) dst.fill(0); // phases that no tap reaches stay zero
  for (const { ph, pw, y } of parts) {
    const src = view(backend, y);
    const [nh, nw] = [rows.count, cols.count];
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < nh; q++) {
        const p = (rows.lo + q) * sh + ph.rho - top;
        if (p < 0 || p >= H) continue;
        for (let r = 0; r < nw; r++) {
          const x = (cols.lo + r) * sw + pw.rho - left;
          if (x < 0 || x >= W) continue;
          const from = ((n * nh + q) * nw + r) * C;
          const to = ((n * H + p) * W + x) * C;
          for (let c = 0; c < C; c++) dst[to + c] = src[from + c]!;
        }
      }
    }
  }
  free(backend, ...parts.map((part) => part.y));
  return out;
}

/**
 * dx for few input channels (the last layer of a decoder, 32 -> 1): a convolution
 * producing C channels runs XNNPACK's kernels at 1/8 of their width. Instead, one 1x1
 * convolution gives every tap's contribution, cols = dy . w^T ([N, oh, ow, kh*kw*C]), and
 * the taps are added into place ("col2im", the weighted sum of translated kernels).
 */
function backpropInputScatter(
  backend: BackendWasm,
  dy: Info,
  filter: Info,
  inShape: [number, number, number, number],
  [sh, sw]: [number, number],
  [dh, dw]: [number, number],
  [top, left]: [number, number],
): Info {
  const [N, H, W, C] = inShape;
  const [kh, kw, , O] = dims4(filter);
  const [, oh, ow] = dims4(dy);
  const K = kh * kw * C;
  const weights = view(backend, filter).slice();
  // [1, 1, O, K]: w viewed as [K, O], transposed.
  const wT = make(backend, [1, 1, O, K], (dst) => {
    for (let k = 0; k < K; k++) {
      for (let o = 0; o < O; o++) dst[o * K + k] = weights[k * O + o]!;
    }
  });
  const cols = conv(backend, dy, wT, [1, 1], [1, 1], [0, 0, 0, 0]);
  free(backend, wT);
  const out = backend.makeOutput([N, H, W, C], "float32");
  const dst = view(backend, out);
  const src = view(backend, cols);
  dst.fill(0);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const from = ((n * oh + i) * ow + j) * K;
        for (let a = 0; a < kh; a++) {
          const p = i * sh + a * dh - top;
          if (p < 0 || p >= H) continue;
          for (let b = 0; b < kw; b++) {
            const q = j * sw + b * dw - left;
            if (q < 0 || q >= W) continue;
            const to = ((n * H + p) * W + q) * C;
            const tap = from + (a * kw + b) * C;
            for (let c = 0; c < C; c++) dst[to + c]! += src[tap + c]!;
          }
        }
      }
    }
  }
  free(backend, cols);
  return out;
}

/** dx = conv(dilate(dy), flip(w)), stride 1; also the forward pass of conv2dTranspose. */
function conv2DBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs: tf.NamedAttrMap;
}): Info {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  const info = forwardInfo("Conv2DBackpropInput", "wasm", attrs, attrs.inputShape, dims4(filter));
  const { inHeight: H, inWidth: W, batchSize: N, outChannels: O } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const [, oh, ow] = dims4(dy);
  const { top, left } = info.padInfo;
  if (info.inChannels <= SCATTER_MAX_CHANNELS) {
    const [inShape, strides] = [attrs.inputShape, [sh, sw] as [number, number]];
    return backpropInputScatter(backend, dy, filter, inShape, strides, [dh, dw], [top, left]);
  }
  if ((sh > 1 || sw > 1) && dh === 1 && dw === 1) {
    return backpropInputSubPixel(backend, dy, filter, attrs.inputShape, [sh, sw], [top, left]);
  }

  // Rows of the dilated dy: (oh - 1) * sh + 1 (plus sh - 1 trailing zeros from zeroDilate).
  let z = sh > 1 || sw > 1 ? zeroDilate(backend, dy, sh, sw) : dy;
  const zh = sh > 1 || sw > 1 ? oh * sh : oh;
  const zw = sh > 1 || sw > 1 ? ow * sw : ow;
  let pt = (kh - 1) * dh - top;
  let pl = (kw - 1) * dw - left;
  let pb = H + (kh - 1) * dh - pt - zh;
  let pr = W + (kw - 1) * dw - pl - zw;
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0) {
    // Padding larger than the kernel (or trailing zeros not needed): crop instead.
    const [skipTop, skipLeft] = [Math.max(0, -pt), Math.max(0, -pl)];
    const begin = [0, skipTop, skipLeft, 0];
    const size = [N, zh - skipTop - Math.max(0, -pb), zw - skipLeft - Math.max(0, -pr), O];
    const cut = slice(backend, z, begin, size);
    if (z !== dy) free(backend, z);
    z = cut;
    [pt, pl, pb, pr] = [Math.max(0, pt), Math.max(0, pl), Math.max(0, pb), Math.max(0, pr)];
  }
  const flipped = flipFilter(backend, filter);
  const out = conv(backend, z, flipped, [1, 1], [dh, dw], [pt, pb, pl, pr]);
  free(backend, flipped);
  if (z !== dy) free(backend, z);
  return out;
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: "wasm",
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
