/**
 * Image grids: a batch of small images (digits, reconstructions, filters, signed maps)
 * laid out in rows x columns as PNG bytes, saying in the picture what it shows: a title,
 * column labels, a title above each row, a label under each image, a colour bar.
 *
 * Layout (output pixels), top to bottom: pad; the title band (TITLE_BAND) when there is a
 * title; the column labels (LABEL_HEIGHT); then per row: its title strip (TITLE_HEIGHT),
 * the images, their labels (LABEL_HEIGHT), pad; last the colour bar (COLORBAR_BAND).
 * Every cell is (H * scale) x (W * scale) with `pad` white pixels between and around
 * cells, so the cells span pad + cols * (W * scale + pad) pixels across, after the row
 * labels' margin; the picture is wider only when a title or the colour bar needs it,
 * the cells then centred.
 */
import * as tf from "@tensorflow/tfjs";
import { FONT_FAMILY, fitText, textWidth } from "./fonts";
import { formatNumber } from "./format";
import { escapeHtml } from "./html";
import { encodePng, type RasterImage } from "./png";
import { svgToRaster } from "./rasterize";

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
  /** Title above the grid, as on the lecture's slides: "g∘f(X) (CNN, d = 8)". */
  title?: string;
  /** One title per row, drawn above it: rows that are figures of their own (X, AE, PCA). */
  titles?: readonly string[];
  /** One short label per row, drawn at its left: grids read as tables ("constant", "bump"). */
  rowLabels?: readonly string[];
  /** One label per column, centred above it. */
  colLabels?: readonly string[];
  /** One label per image, centred under it (e.g. the digit a classifier reads). */
  imageLabels?: readonly (string | number)[];
  /**
   * Colour bar under the grid with the values of its ends (and middle): true, or its label
   * ("kernel placements"). Default: shown for the diverging map and for gray images whose
   * range is not [0, 1] (maps of values rather than pictures); false hides it.
   */
  colorbar?: boolean | string;
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

/** Height of the band holding the grid's title, in pixels. */
export const TITLE_BAND = 24;
/** Height of the title strip above each row, in pixels. */
export const TITLE_HEIGHT = 20;
/** Height of a line of column or image labels, in pixels. */
const LABEL_HEIGHT = 15;
/** Height of the colour bar with its values, in pixels. */
const COLORBAR_BAND = 34;
const TITLE_FONT_SIZE = 14;
const ROW_TITLE_FONT_SIZE = 13;
const LABEL_FONT_SIZE = 11;
/** Labels too wide for their cell shrink down to this size before they are cut. */
const MIN_LABEL_FONT_SIZE = 9;
const MAX_ROW_LABEL_WIDTH = 200;
const COLORBAR_WIDTH = 160;
const COLORBAR_HEIGHT = 10;
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
  return [0, 1, 2].map((c) => Math.round(255 + (end[c]! - 255) * a)) as [number, number, number];
}

/** Images as the grid reads them: [n, c, h, w] values, channel planes (PyTorch's layout). */
interface Batch {
  n: number;
  c: 1 | 3;
  h: number;
  w: number;
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

/** [n, h, w, c] interleaved values to channel planes. */
function planar(values: ArrayLike<number>, n: number, h: number, w: number, c: 1 | 3) {
  if (c === 1) return values;
  const out = new Float32Array(values.length);
  const hw = h * w;
  for (let i = 0; i < n; i++)
    for (let p = 0; p < hw; p++)
      for (let k = 0; k < c; k++) out[(i * c + k) * hw + p] = values[(i * hw + p) * c + k]!;
  return out;
}

/** The one place that reads input layouts. */
function toBatch(images: ImageBatch, options: GridOptions): Batch {
  if (images instanceof tf.Tensor) {
    const s = images.shape;
    if (s.length === 2) {
      const [h, w, c] = shapeOfFlat(s[1], options);
      return { n: s[0], c, h, w, values: planar(images.dataSync(), s[0], h, w, c) };
    }
    if (s.length === 3) return { n: s[0], c: 1, h: s[1], w: s[2], values: images.dataSync() };
    // [N, C, H, W] is already planar, as the grid keeps its images.
    if (s.length === 4 && (s[1] === 1 || s[1] === 3)) {
      return { n: s[0], c: s[1], h: s[2], w: s[3], values: images.dataSync() };
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
  return { n: images.length, c, h, w, values: planar(values, images.length, h, w, c) };
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`imageGrid: ${name} must be a positive integer, got ${v}`);
  return v;
}

function shape(n: number, options: GridOptions): { rows: number; cols: number } {
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

/** How values become colours, and what the colour bar says. */
interface ColorScale {
  kind: "gray" | "diverging" | "rgb";
  /** Values at the ends of the map (diverging: [-max, max]). */
  lo: number;
  hi: number;
}

function colorScale(batch: Batch, options: GridOptions): ColorScale {
  if (batch.c === 3) {
    const [lo, hi] = options.range ?? [0, 1];
    return { kind: "rgb", lo, hi };
  }
  if ((options.colormap ?? "gray") === "diverging") {
    let max = 0;
    if (options.range !== undefined)
      max = Math.max(Math.abs(options.range[0]), Math.abs(options.range[1]));
    else
      for (let i = 0; i < batch.values.length; i++) max = Math.max(max, Math.abs(batch.values[i]!));
    if (!(max > 0)) max = 1;
    return { kind: "diverging", lo: -max, hi: max };
  }
  const [lo, hi] = options.range ?? [0, 1];
  if (!(hi > lo)) throw new Error(`imageGrid: range [${lo}, ${hi}] must have lo < hi`);
  return { kind: "gray", lo, hi };
}

/** A piece of text in the grid; (x, y) is the anchor point on the baseline. */
export interface GridText {
  role: "title" | "column" | "row" | "image" | "colorbar";
  text: string;
  x: number;
  y: number;
  size: number;
  bold: boolean;
  anchor: "start" | "middle" | "end";
}

/** Where everything goes, in output pixels. */
export interface GridLayout {
  width: number;
  height: number;
  rows: number;
  cols: number;
  cellWidth: number;
  cellHeight: number;
  /** Top-left corner of image i's cell. */
  cells: { x: number; y: number }[];
  texts: GridText[];
  /** The colour bar's box (values lo..hi left to right), or null. */
  colorbar: { x: number; y: number; width: number; height: number; lo: number; hi: number } | null;
}

function checkCount(what: string, got: number, want: number, per: string): void {
  if (got !== want)
    throw new Error(
      `imageGrid: ${got} ${what} for ${want} ${per}; give one per ${per.replace(/s$/, "")}`,
    );
}

function showsColorbar(options: GridOptions, scale: ColorScale): boolean {
  if (options.colorbar !== undefined && options.colorbar !== false) {
    if (scale.kind === "rgb") throw new Error("imageGrid: no colour bar for RGB images");
    return true;
  }
  if (options.colorbar === false || scale.kind === "rgb") return false;
  return scale.kind === "diverging" || scale.lo !== 0 || scale.hi !== 1;
}

function layOut(batch: Batch, options: GridOptions, scale: ColorScale): GridLayout {
  const { n, h, w } = batch;
  const { rows, cols } = shape(n, options);
  const zoom = positiveInteger("scale", options.scale ?? 2);
  const pad = options.pad ?? 2;
  if (!Number.isInteger(pad) || pad < 0)
    throw new Error(`imageGrid: pad must be an integer >= 0, got ${pad}`);
  const { title, titles, rowLabels, colLabels, imageLabels } = options;
  if (titles !== undefined) checkCount("titles", titles.length, rows, "rows");
  if (rowLabels !== undefined) checkCount("row labels", rowLabels.length, rows, "rows");
  if (colLabels !== undefined) checkCount("column labels", colLabels.length, cols, "columns");
  if (imageLabels !== undefined) checkCount("image labels", imageLabels.length, n, "images");
  const cellW = w * zoom;
  const cellH = h * zoom;
  const gridW = pad + cols * (cellW + pad);

  const colorbar = showsColorbar(options, scale);
  const barLabel = typeof options.colorbar === "string" ? options.colorbar : "";
  const barLabelW = barLabel ? Math.ceil(textWidth(barLabel, LABEL_FONT_SIZE)) + 8 : 0;
  const ticks = colorbar ? colorbarTicks(scale) : [];
  const tickOverhang = Math.ceil(
    Math.max(0, ...ticks.map((t) => textWidth(t.text, LABEL_FONT_SIZE))) / 2,
  );
  const barW = barLabelW + COLORBAR_WIDTH + 2 * tickOverhang;
  const titleW = title ? Math.ceil(textWidth(title, TITLE_FONT_SIZE, true)) : 0;
  const rowLabelFits = (rowLabels ?? []).map((l) => fitLabel(l, MAX_ROW_LABEL_WIDTH));
  const marginW =
    rowLabels === undefined
      ? 0
      : Math.ceil(Math.max(...rowLabelFits.map((f) => textWidth(f.text, f.size)))) + 8;
  const width = Math.max(
    marginW + gridW,
    title ? titleW + 2 * pad + 8 : 0,
    colorbar ? barW + 2 * pad : 0,
  );
  // Left edge of the cells' block (the row labels sit in the margin before it).
  const x0 = Math.floor((width - marginW - gridW) / 2) + marginW;

  const texts: GridText[] = [];
  const put =
    (role: GridText["role"], anchor: GridText["anchor"], x: number, y: number) =>
    (fit: { text: string; size: number }, bold = false) =>
      texts.push({ role, text: fit.text, x, y, size: fit.size, bold, anchor });
  const cellX = (c: number) => x0 + pad + c * (cellW + pad);
  let y = pad;
  if (title) {
    const text = fitText(title, TITLE_FONT_SIZE, width - 2 * pad, true);
    put("title", "middle", width / 2, y + 16)({ text, size: TITLE_FONT_SIZE }, true);
    y += TITLE_BAND;
  }
  if (colLabels !== undefined) {
    colLabels.forEach((label, c) =>
      put("column", "middle", cellX(c) + cellW / 2, y + 11)(fitLabel(label, cellW + pad)),
    );
    y += LABEL_HEIGHT;
  }
  const cells: { x: number; y: number }[] = [];
  for (let r = 0; r < rows; r++) {
    if (titles !== undefined) {
      const text = fitText(titles[r]!, ROW_TITLE_FONT_SIZE, gridW - 2 * pad);
      put("row", "start", cellX(0) + 1, y + TITLE_HEIGHT - 6)({ text, size: ROW_TITLE_FONT_SIZE });
      y += TITLE_HEIGHT;
    }
    const inRow = Math.min(cols, n - r * cols);
    for (let c = 0; c < inRow; c++) cells.push({ x: cellX(c), y });
    if (rowLabels !== undefined) {
      const fit = rowLabelFits[r]!;
      put("row", "end", x0 - 2, Math.round(y + cellH / 2 + 0.35 * fit.size))(fit);
    }
    y += cellH;
    if (imageLabels !== undefined) {
      for (let c = 0; c < inRow; c++) {
        const fit = fitLabel(String(imageLabels[r * cols + c]), cellW + pad);
        put("image", "middle", cellX(c) + cellW / 2, y + 11)(fit);
      }
      y += LABEL_HEIGHT;
    }
    y += pad;
  }
  let bar: GridLayout["colorbar"] = null;
  if (colorbar) {
    const x = Math.floor((width - barW) / 2) + barLabelW + tickOverhang;
    const { lo, hi } = scale;
    bar = { x, y: y + 4, width: COLORBAR_WIDTH, height: COLORBAR_HEIGHT, lo, hi };
    const size = LABEL_FONT_SIZE;
    if (barLabel) put("colorbar", "end", x - tickOverhang - 8, bar.y + 9)({ text: barLabel, size });
    for (const t of ticks) {
      const at = x + ((t.value - lo) / (hi - lo)) * (COLORBAR_WIDTH - 1);
      put("colorbar", "middle", at, bar.y + COLORBAR_HEIGHT + 13)({ text: t.text, size });
    }
    y += COLORBAR_BAND;
  }
  return {
    width,
    height: y,
    rows,
    cols,
    cellWidth: cellW,
    cellHeight: cellH,
    cells,
    texts,
    colorbar: bar,
  };
}

/** A label in at most `maxWidth` pixels: smaller type first, then cut. */
function fitLabel(text: string, maxWidth: number): { text: string; size: number } {
  for (let size = LABEL_FONT_SIZE; size > MIN_LABEL_FONT_SIZE; size--)
    if (textWidth(text, size) <= maxWidth) return { text, size };
  return { text: fitText(text, MIN_LABEL_FONT_SIZE, maxWidth), size: MIN_LABEL_FONT_SIZE };
}

/** The values printed under the colour bar: its ends and its middle (0 when diverging). */
function colorbarTicks(scale: ColorScale): { value: number; text: string }[] {
  const mid = (scale.lo + scale.hi) / 2;
  return [scale.lo, mid, scale.hi].map((value) => ({
    value,
    // A typographic minus, as on chart axes.
    text: formatNumber(Math.abs(value) < 1e-12 * (scale.hi - scale.lo) ? 0 : value).replace(
      "-",
      "\u2212",
    ),
  }));
}

/** The layout of a grid: where each image, text and the colour bar go. */
export function gridLayout(images: ImageBatch, options: GridOptions = {}): GridLayout {
  const batch = toBatch(images, options);
  return layOut(batch, options, colorScale(batch, options));
}

/** The text of a grid as SVG (black on white), the picture's background before the images. */
export function gridSvg(layout: GridLayout): string {
  const texts = layout.texts
    .map(
      (t) =>
        `<text x="${t.x}" y="${t.y}" font-size="${t.size}"` +
        (t.bold ? ` font-weight="bold"` : "") +
        (t.anchor === "start" ? "" : ` text-anchor="${t.anchor}"`) +
        `>${escapeHtml(t.text)}</text>`,
    )
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<g font-family="${FONT_FAMILY}" fill="black">${texts}</g></svg>`
  );
}

/** Renders the grid to raw pixels (gray, or RGB for the diverging map and RGB images). */
function renderGrid(images: ImageBatch, options: GridOptions = {}): RasterImage {
  const batch = toBatch(images, options);
  const { n, c, h, w, values } = batch;
  const scale = colorScale(batch, options);
  const layout = layOut(batch, options, scale);
  const { width, height } = layout;
  const channels: 1 | 3 = scale.kind === "gray" ? 1 : 3;
  const data = new Uint8Array(width * height * channels).fill(255);
  if (layout.texts.length > 0) {
    const rgba = svgToRaster(gridSvg(layout)).data;
    for (let p = 0; p < width * height; p++)
      for (let k = 0; k < channels; k++) data[p * channels + k] = rgba[p * 4 + k]!;
  }

  // One function from a value (or an image's pixel) to an output colour, chosen once.
  const hw = h * w;
  let paint: (image: number, pixel: number, out: number) => void;
  let paintValue: (v: number, out: number) => void = () => {};
  if (scale.kind === "rgb") {
    paint = (i, p, out) => {
      for (let k = 0; k < 3; k++)
        data[out + k] = grayLevel(values[(i * 3 + k) * hw + p]!, scale.lo, scale.hi);
    };
  } else {
    paintValue =
      scale.kind === "diverging"
        ? (v, out) => data.set(divergingColor(v, scale.hi), out)
        : (v, out) => void (data[out] = grayLevel(v, scale.lo, scale.hi));
    paint = (i, p, out) => paintValue(values[i * c * hw + p]!, out);
  }

  const zoom = layout.cellWidth / w;
  for (let i = 0; i < n; i++) {
    const { x: x0, y: y0 } = layout.cells[i]!;
    for (let y = 0; y < layout.cellHeight; y++) {
      const srcRow = Math.floor(y / zoom) * w;
      for (let x = 0; x < layout.cellWidth; x++)
        paint(i, srcRow + Math.floor(x / zoom), ((y0 + y) * width + x0 + x) * channels);
    }
  }
  const bar = layout.colorbar;
  if (bar !== null) {
    // A 1-pixel dark frame, so that the white end of a map shows.
    for (let y = bar.y - 1; y <= bar.y + bar.height; y++) {
      for (let x = bar.x - 1; x <= bar.x + bar.width; x++) {
        const out = (y * width + x) * channels;
        const inside = x >= bar.x && x < bar.x + bar.width && y >= bar.y && y < bar.y + bar.height;
        if (inside) paintValue(bar.lo + ((x - bar.x) / (bar.width - 1)) * (bar.hi - bar.lo), out);
        else data.fill(96, out, out + channels);
      }
    }
  }
  return { width, height, channels, data };
}

/** The grid as PNG bytes (deterministic: same images and options, same bytes). */
export function imageGrid(images: ImageBatch, options: GridOptions = {}): Uint8Array {
  return encodePng(renderGrid(images, options));
}
