/**
 * The fonts our pictures are drawn with, and how wide a text is in them.
 *
 * resvg draws every SVG (charts, grid labels) with DejaVu Sans when the system has it.
 * Laying out text (vega's legends and axes, grid labels) needs the widths of that same
 * font, not an estimate: vega's estimate (0.8 em a character) cut legend labels that fit.
 * Widths are the sums of the glyphs' advance widths from the TrueType files; kerning,
 * which resvg applies, only makes the drawn text a little narrower.
 */
import * as fs from "node:fs";

const DEJAVU_DIRS = [
  "/usr/share/fonts/truetype/dejavu",
  "/usr/share/fonts/TTF",
  "/usr/share/fonts/dejavu",
];
const REGULAR = "DejaVuSans.ttf";
const BOLD = "DejaVuSans-Bold.ttf";

/** The font family SVG text should name so that it matches what we load. */
export const FONT_FAMILY = "DejaVu Sans, sans-serif";

/** Paths of DejaVu Sans regular and bold, or null when the system has not got them. */
export function dejaVuFiles(): { regular: string; bold: string } | null {
  for (const dir of DEJAVU_DIRS) {
    const regular = `${dir}/${REGULAR}`;
    const bold = `${dir}/${BOLD}`;
    if (fs.existsSync(regular) && fs.existsSync(bold)) return { regular, bold };
  }
  return null;
}

/** Advance widths of a TrueType font, in em, by code point. */
interface Metrics {
  widthOf(codePoint: number): number;
}

/** Reads the cmap (formats 4 and 12), hmtx, hhea and head tables of a TrueType file. */
function readFontMetrics(bytes: Uint8Array): Metrics {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = new Map<string, number>();
  const numTables = view.getUint16(4);
  for (let i = 0; i < numTables; i++) {
    const at = 12 + 16 * i;
    const tag = String.fromCharCode(...bytes.subarray(at, at + 4));
    tables.set(tag, view.getUint32(at + 8));
  }
  const table = (tag: string): number => {
    const at = tables.get(tag);
    if (at === undefined) throw new Error(`font: no '${tag}' table`);
    return at;
  };
  const unitsPerEm = view.getUint16(table("head") + 18);
  const numberOfHMetrics = view.getUint16(table("hhea") + 34);
  const hmtx = table("hmtx");
  // Glyphs past numberOfHMetrics share the last advance width.
  const advance = (glyph: number): number =>
    view.getUint16(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1)) / unitsPerEm;

  const cmap = table("cmap");
  let format4 = -1;
  let format12 = -1;
  for (let i = 0; i < view.getUint16(cmap + 2); i++) {
    const platform = view.getUint16(cmap + 4 + 8 * i);
    const encoding = view.getUint16(cmap + 6 + 8 * i);
    const at = cmap + view.getUint32(cmap + 8 + 8 * i);
    const format = view.getUint16(at);
    if (platform === 3 && encoding === 10 && format === 12) format12 = at;
    if (platform === 3 && encoding === 1 && format === 4) format4 = at;
  }
  let glyphOf: (c: number) => number;
  if (format12 >= 0) {
    const groups = view.getUint32(format12 + 12);
    glyphOf = (c) => {
      for (let g = 0; g < groups; g++) {
        const at = format12 + 16 + 12 * g;
        const start = view.getUint32(at);
        if (c >= start && c <= view.getUint32(at + 4)) return view.getUint32(at + 8) + c - start;
      }
      return 0;
    };
  } else if (format4 >= 0) {
    const segments = view.getUint16(format4 + 6) / 2;
    const ends = format4 + 14;
    const starts = ends + 2 * segments + 2;
    const deltas = starts + 2 * segments;
    const offsets = deltas + 2 * segments;
    glyphOf = (c) => {
      for (let s = 0; s < segments; s++) {
        if (c > view.getUint16(ends + 2 * s)) continue;
        const start = view.getUint16(starts + 2 * s);
        if (c < start) return 0;
        const delta = view.getInt16(deltas + 2 * s);
        const offset = view.getUint16(offsets + 2 * s);
        if (offset === 0) return (c + delta) & 0xffff;
        const glyph = view.getUint16(offsets + 2 * s + offset + 2 * (c - start));
        return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
      }
      return 0;
    };
  } else {
    throw new Error("font: no Unicode cmap (format 4 or 12)");
  }
  const cache = new Map<number, number>();
  return {
    widthOf(codePoint) {
      let w = cache.get(codePoint);
      if (w === undefined) {
        w = advance(glyphOf(codePoint));
        cache.set(codePoint, w);
      }
      return w;
    },
  };
}

let loaded: { regular: Metrics; bold: Metrics } | null | undefined;

function dejaVuMetrics(): { regular: Metrics; bold: Metrics } | null {
  if (loaded !== undefined) return loaded;
  const files = dejaVuFiles();
  loaded =
    files === null
      ? null
      : {
          regular: readFontMetrics(fs.readFileSync(files.regular)),
          bold: readFontMetrics(fs.readFileSync(files.bold)),
        };
  return loaded;
}

/** Average width of a character, in em, when the font is unknown (DejaVu Sans: about 0.6). */
const FALLBACK_EM_PER_CHAR = 0.62;

/** True when widths are those of the font resvg draws with (DejaVu Sans is installed). */
export function measuresRealFont(): boolean {
  return dejaVuMetrics() !== null;
}

/** Width in pixels of `text` drawn at `fontSize` pixels, as resvg draws it. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const metrics = dejaVuMetrics();
  if (metrics === null) return [...text].length * FALLBACK_EM_PER_CHAR * fontSize;
  const font = bold ? metrics.bold : metrics.regular;
  let em = 0;
  for (const ch of text) em += font.widthOf(ch.codePointAt(0) ?? 0);
  return em * fontSize;
}

/** `text` cut to at most `maxWidth` pixels, ending with "…" when cut. */
export function fitText(text: string, fontSize: number, maxWidth: number, bold = false): string {
  if (textWidth(text, fontSize, bold) <= maxWidth) return text;
  const chars = [...text];
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textWidth(`${chars.slice(0, mid).join("")}…`, fontSize, bold) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? "" : `${chars.slice(0, lo).join("").trimEnd()}…`;
}
