/**
 * Image grids: a batch of small images (digits, reconstructions, filters, signed maps)
 * laid out in rows x columns, optional title above each row, as PNG bytes.
 *
 * Layout (output pixels): every cell is (H * scale) x (W * scale); `pad` white pixels
 * separate cells and frame the grid; a title strip of TITLE_HEIGHT pixels sits above a
 * row when titles are given. So width = pad + cols * (W * scale + pad) and
 * height = pad + rows * (titleHeight + H * scale + pad).
 */
import * as tf from "@tensorflow/tfjs";
import { escapeHtml } from "./html";
import { encodePng, type RasterImage } from "./png";
import { FONT_FAMILY, svgToRaster } from "./rasterize";

/** A batch of images: a tensor [N,C,H,W] (C = 1 or 3), [N,H,W] or [N,H*W], or flat arrays. */
export type ImageBatch = tf.Tensor | readonly (Float32Array | readonly number[])[];

/** "gray": [lo, hi] -> black..white. "diverging": blue-white-red, symmetric around 0. */
export type Colormap = "gray" | "diverging";

export interface GridOptions {
  /** Rows of the grid (default: as many as the columns need). */
  rows?: number;
  /** Columns (default: 12, or fewer when there are fewer images, or N / rows). */
  cols?: number;
  /** Integer upscaling factor, nearest neighbour (default 2). */
  scale?: number;
  /** One title per row, drawn above it. */
  titles?: readonly string[];
  /** Default "gray"; ignored for RGB images. */
  colormap?: Colormap;
  /**
   * Value range. gray / RGB: [lo, hi] maps to 0..255, clamped (default [0, 1]).
   * diverging: +-max(|lo|, |hi|) maps to full blue / red (default: the batch's max |value|).
   */
  range?: readonly [number, number];
  /** Pixels between and around cells (default 2). */
  pad?: number;
  /** [H, W] or [H, W, C] of each image, for flat inputs ([N, H*W] tensors, arrays); default square gray. */
  imageShape?: readonly [number, number] | readonly [number, number, number];
}

/** Height of the title strip above each row, in pixels. */
export const TITLE_HEIGHT = 20;
const TITLE_FONT_SIZE = 13;
const DEFAULT_COLS = 12;

/** Full-intensity ends of the diverging map (ColorBrewer RdBu ends), white in the middle. */
export const DIVERGING_NEGATIVE: readonly [number, number, number] = [33, 102, 172];
export const DIVERGING_POSITIVE: readonly [number, number, number] = [178, 24, 43];

/** Gray level 0..255 of `v` on [lo, hi], clamped; NaN gives 0. */
export function grayLevel(v: number, lo: number, hi: number): number {
  const t = (v - lo) / (hi - lo);
  return t > 0 ? (t < 1 ? Math.round(255 * t) : 255) : 0;
}

/** RGB of `v` on the diverging map: -max blue, 0 white, +max red, clamped; NaN gives white. */
export function divergingColor(v: number, max: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, v / max));
  if (!(Math.abs(t) > 0)) return [255, 255, 255];
  const end = t < 0 ? DIVERGING_NEGATIVE : DIVERGING_POSITIVE;
  const a = Math.abs(t);
  return [0, 1, 2].map((c) => Math.round(255 + (end[c] - 255) * a)) as [number, number, number];
}

interface Batch {
  n: number;
  h: number;
  w: number;
  c: 1 | 3;
  /** n * h * w * c values, image-major, then row, column, channel. */
  values: ArrayLike<number>;
}

function shapeOfFlat(length: number, options: GridOptions): [number, number, 1 | 3] {
  const shape = options.imageShape;
  if (shape !== undefined) {
    const [h, w, c = 1] = shape;
    if (c !== 1 && c !== 3)
      throw new Error(`imageGrid: imageShape channels must be 1 or 3, got ${c}`);
    if (h * w * c !== length) {
      throw new Error(
        `imageGrid: imageShape [${shape.join(", ")}] does not match images of ${length} values`,
      );
    }
    return [h, w, c];
  }
  const side = Math.round(Math.sqrt(length));
  if (side * side !== length) {
    throw new Error(
      `imageGrid: images of ${length} values are not square; pass imageShape: [H, W]`,
    );
  }
  return [side, side, 1];
}

function toBatch(images: ImageBatch, options: GridOptions): Batch {
  if (images instanceof tf.Tensor) {
    const s = images.shape;
    if (s.length === 2) {
      const [h, w, c] = shapeOfFlat(s[1], options);
      return { n: s[0], h, w, c, values: images.dataSync() };
    }
    if (s.length === 3) return { n: s[0], h: s[1], w: s[2], c: 1, values: images.dataSync() };
    if (s.length === 4 && s[1] === 1) {
      return { n: s[0], h: s[2], w: s[3], c: 1, values: images.dataSync() };
    }
    if (s.length === 4 && s[1] === 3) {
      const hwc = tf.tidy(() => tf.transpose(images, [0, 2, 3, 1]));
      const values = hwc.dataSync();
      hwc.dispose();
      return { n: s[0], h: s[2], w: s[3], c: 3, values };
    }
    throw new Error(
      `imageGrid: tensor of shape [${s.join(", ")}]; expected [N,1,H,W], [N,3,H,W], [N,H,W] or [N,H*W]`,
    );
  }
  if (!Array.isArray(images) || images.length === 0) {
    throw new Error("imageGrid: images must be a tensor or a non-empty array of flat images");
  }
  const length = images[0].length;
  const [h, w, c] = shapeOfFlat(length, options);
  const values = new Float32Array(images.length * length);
  images.forEach((image, i) => {
    if (image.length !== length) {
      throw new Error(`imageGrid: image ${i} has ${image.length} values, image 0 has ${length}`);
    }
    values.set(image, i * length);
  });
  return { n: images.length, h, w, c, values };
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`imageGrid: ${name} must be a positive integer, got ${v}`);
  return v;
}

function layout(n: number, options: GridOptions): { rows: number; cols: number } {
  if (n === 0) throw new Error("imageGrid: no images to draw");
  let { rows, cols } = options;
  if (rows !== undefined) positiveInteger("rows", rows);
  if (cols !== undefined) positiveInteger("cols", cols);
  if (cols === undefined)
    cols = rows === undefined ? Math.min(n, DEFAULT_COLS) : Math.ceil(n / rows);
  if (rows === undefined) rows = Math.ceil(n / cols);
  if (rows * cols < n) {
    throw new Error(
      `imageGrid: ${rows} rows x ${cols} columns cannot hold ${n} images; enlarge the grid or pass fewer images`,
    );
  }
  return { rows, cols };
}

/** Renders the grid to raw pixels (gray, or RGB for the diverging map and RGB images). */
export function renderGrid(images: ImageBatch, options: GridOptions = {}): RasterImage {
  const batch = toBatch(images, options);
  const { n, h, w, c, values } = batch;
  const { rows, cols } = layout(n, options);
  const scale = positiveInteger("scale", options.scale ?? 2);
  const pad = options.pad ?? 2;
  if (!Number.isInteger(pad) || pad < 0)
    throw new Error(`imageGrid: pad must be an integer >= 0, got ${pad}`);
  const titles = options.titles;
  if (titles !== undefined && titles.length !== rows) {
    throw new Error(`imageGrid: ${titles.length} titles for ${rows} rows; give one title per row`);
  }
  const colormap = options.colormap ?? "gray";
  const channels: 1 | 3 = c === 3 || colormap === "diverging" ? 3 : 1;

  const titleHeight = titles === undefined ? 0 : TITLE_HEIGHT;
  const cellW = w * scale;
  const cellH = h * scale;
  const width = pad + cols * (cellW + pad);
  const height = pad + rows * (titleHeight + cellH + pad);
  const data = canvas(width, height, channels, titles, titleHeight + cellH + pad, pad);

  // One function from (image, pixel) to output colour, chosen once.
  let paint: (src: number, out: number) => void;
  if (c === 3) {
    const [lo, hi] = options.range ?? [0, 1];
    paint = (src, out) => {
      for (let k = 0; k < 3; k++) data[out + k] = grayLevel(values[src * 3 + k], lo, hi);
    };
  } else if (colormap === "diverging") {
    let max: number;
    if (options.range !== undefined)
      max = Math.max(Math.abs(options.range[0]), Math.abs(options.range[1]));
    else {
      max = 0;
      for (let i = 0; i < values.length; i++)
        if (Math.abs(values[i]) > max) max = Math.abs(values[i]);
    }
    if (!(max > 0)) max = 1;
    paint = (src, out) => data.set(divergingColor(values[src], max), out);
  } else {
    const [lo, hi] = options.range ?? [0, 1];
    if (!(hi > lo)) throw new Error(`imageGrid: range [${lo}, ${hi}] must have lo < hi`);
    paint = (src, out) => {
      data[out] = grayLevel(values[src], lo, hi);
    };
  }

  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (cellW + pad);
    const y0 = pad + Math.floor(i / cols) * (titleHeight + cellH + pad) + titleHeight;
    for (let y = 0; y < cellH; y++) {
      const srcRow = (i * h + Math.floor(y / scale)) * w;
      for (let x = 0; x < cellW; x++) {
        paint(srcRow + Math.floor(x / scale), ((y0 + y) * width + x0 + x) * channels);
      }
    }
  }
  return { width, height, channels, data };
}

/** White pixels, with the row titles drawn in black when there are any. */
function canvas(
  width: number,
  height: number,
  channels: 1 | 3,
  titles: readonly string[] | undefined,
  rowPitch: number,
  pad: number,
): Uint8Array {
  const data = new Uint8Array(width * height * channels).fill(255);
  if (titles === undefined) return data;
  const texts = titles
    .map(
      (t, r) =>
        `<text x="${pad + 1}" y="${pad + r * rowPitch + TITLE_HEIGHT - 6}">${escapeHtml(t)}</text>`,
    )
    .join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<g font-family="${FONT_FAMILY}" font-size="${TITLE_FONT_SIZE}" fill="black">${texts}</g></svg>`;
  const rgba = svgToRaster(svg).data;
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < channels; k++) data[p * channels + k] = rgba[p * 4 + k];
  }
  return data;
}

/** The grid as PNG bytes (deterministic: same images and options, same bytes). */
export function imageGrid(images: ImageBatch, options: GridOptions = {}): Uint8Array {
  return encodePng(renderGrid(images, options));
}
