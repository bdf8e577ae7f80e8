/**
 * From-scratch, plain-TypeScript convolutions on nested arrays, written the way lecture 7.1
 * describes them: a convolution is a series of inner products, a transposed convolution is
 * a weighted sum of translated kernels. They are slow and obvious on purpose: the tests
 * check the tfjs-based functions against them.
 */
import { convOutputSize, convTransposeOutputSize } from "../geometry";

/** A batch of 1-D signals, [N][C][W]. */
export type Signal1d = number[][][];
/** A batch of images, [N][C][H][W]. */
export type Signal2d = number[][][][];

function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}

/**
 * conv1d as inner products: y[n][o][i] = b[o] + sum_c sum_a x[n][c][i s + a d - p] w[o][c][a]
 * (weight [O][C][k], zero outside the input).
 */
export function conv1dReference(
  x: Signal1d,
  weight: number[][][],
  bias: number[] | null = null,
  options: { stride?: number; padding?: number; dilation?: number } = {},
): Signal1d {
  const { stride = 1, padding = 0, dilation = 1 } = options;
  const k = weight[0]?.[0]?.length ?? 0;
  return x.map((sample) => {
    const w = sample[0]?.length ?? 0;
    const outW = convOutputSize(w, k, { stride, padding, dilation });
    return weight.map((kernels, o) => {
      const y = zeros(outW);
      for (let i = 0; i < outW; i++) {
        let acc = bias ? bias[o]! : 0;
        kernels.forEach((kernel, c) => {
          const row = sample[c]!;
          for (let a = 0; a < k; a++) {
            const u = i * stride + a * dilation - padding;
            if (u >= 0 && u < w) acc += row[u]! * kernel[a]!;
          }
        });
        y[i] = acc;
      }
      return y;
    });
  });
}

/**
 * conv_transpose1d as a weighted sum of translated kernels: every input value x[n][c][u]
 * adds x[n][c][u] times the (dilated) kernel w[c][o] at offset u s of the full output;
 * `padding` is then cropped from both ends and `outputPadding` zeros appended.
 * Weight layout [Cin][Cout][k], as in PyTorch.
 */
export function convTranspose1dReference(
  x: Signal1d,
  weight: number[][][],
  bias: number[] | null = null,
  options: { stride?: number; padding?: number; outputPadding?: number; dilation?: number } = {},
): Signal1d {
  const { stride = 1, padding = 0, outputPadding = 0, dilation = 1 } = options;
  const cout = weight[0]?.length ?? 0;
  const k = weight[0]?.[0]?.length ?? 0;
  return x.map((sample) => {
    const w = sample[0]?.length ?? 0;
    const outW = convTransposeOutputSize(w, k, { stride, padding, outputPadding, dilation });
    const out: number[][] = [];
    for (let o = 0; o < cout; o++) out.push(zeros(outW).fill(bias ? bias[o]! : 0));
    sample.forEach((row, c) => {
      row.forEach((value, u) => {
        for (let o = 0; o < cout; o++) {
          const kernel = weight[c]![o]!;
          const y = out[o]!;
          for (let a = 0; a < k; a++) {
            const j = u * stride + a * dilation - padding;
            if (j >= 0 && j < outW) y[j] = y[j]! + value * kernel[a]!;
          }
        }
      });
    });
    return out;
  });
}

type Pair = [number, number];
const pair = (v: number | Pair | undefined, dflt: number): Pair =>
  v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : v;

/** conv2d as inner products (weight [O][C][kh][kw]). */
export function conv2dReference(
  x: Signal2d,
  weight: number[][][][],
  bias: number[] | null = null,
  options: { stride?: number | Pair; padding?: number | Pair; dilation?: number | Pair } = {},
): Signal2d {
  const [sh, sw] = pair(options.stride, 1);
  const [ph, pw] = pair(options.padding, 0);
  const [dh, dw] = pair(options.dilation, 1);
  const kh = weight[0]?.[0]?.length ?? 0;
  const kw = weight[0]?.[0]?.[0]?.length ?? 0;
  return x.map((sample) => {
    const h = sample[0]?.length ?? 0;
    const w = sample[0]?.[0]?.length ?? 0;
    const outH = convOutputSize(h, kh, { stride: sh, padding: ph, dilation: dh });
    const outW = convOutputSize(w, kw, { stride: sw, padding: pw, dilation: dw });
    return weight.map((kernels, o) => {
      const y: number[][] = [];
      for (let i = 0; i < outH; i++) {
        const yRow = zeros(outW);
        for (let j = 0; j < outW; j++) {
          let acc = bias ? bias[o]! : 0;
          kernels.forEach((kernel, c) => {
            for (let a = 0; a < kh; a++) {
              const u = i * sh + a * dh - ph;
              if (u < 0 || u >= h) continue;
              for (let b = 0; b < kw; b++) {
                const v = j * sw + b * dw - pw;
                if (v >= 0 && v < w) acc += sample[c]?.[u]?.[v]! * kernel[a]?.[b]!;
              }
            }
          });
          yRow[j] = acc;
        }
        y.push(yRow);
      }
      return y;
    });
  });
}

/** conv_transpose2d as a weighted sum of translated kernels (weight [Cin][Cout][kh][kw]). */
export function convTranspose2dReference(
  x: Signal2d,
  weight: number[][][][],
  bias: number[] | null = null,
  options: {
    stride?: number | Pair;
    padding?: number | Pair;
    outputPadding?: number | Pair;
    dilation?: number | Pair;
  } = {},
): Signal2d {
  const [sh, sw] = pair(options.stride, 1);
  const [ph, pw] = pair(options.padding, 0);
  const [oph, opw] = pair(options.outputPadding, 0);
  const [dh, dw] = pair(options.dilation, 1);
  const cout = weight[0]?.length ?? 0;
  const kh = weight[0]?.[0]?.length ?? 0;
  const kw = weight[0]?.[0]?.[0]?.length ?? 0;
  return x.map((sample) => {
    const h = sample[0]?.length ?? 0;
    const w = sample[0]?.[0]?.length ?? 0;
    const outH = convTransposeOutputSize(h, kh, {
      stride: sh,
      padding: ph,
      outputPadding: oph,
      dilation: dh,
    });
    const outW = convTransposeOutputSize(w, kw, {
      stride: sw,
      padding: pw,
      outputPadding: opw,
      dilation: dw,
    });
    const out: number[][][] = [];
    for (let o = 0; o < cout; o++) {
      const plane: number[][] = [];
      for (let i = 0; i < outH; i++) plane.push(zeros(outW).fill(bias ? bias[o]! : 0));
      out.push(plane);
    }
    sample.forEach((image, c) => {
      image.forEach((row, u) => {
        row.forEach((value, v) => {
          for (let o = 0; o < cout; o++) {
            const kernel = weight[c]![o]!;
            const plane = out[o]!;
            for (let a = 0; a < kh; a++) {
              const i = u * sh + a * dh - ph;
              if (i < 0 || i >= outH) continue;
              const yRow = plane[i]!;
              for (let b = 0; b < kw; b++) {
                const j = v * sw + b * dw - pw;
                if (j >= 0 && j < outW) yRow[j] = yRow[j]! + value * kernel[a]?.[b]!;
              }
            }
          }
        });
      });
    });
    return out;
  });
}
