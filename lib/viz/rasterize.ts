/**
 * SVG to pixels with @resvg/resvg-js. Fonts are pinned (DejaVu Sans when the system has
 * it, else the system fonts) so that text renders the same way on every run here.
 */
import * as fs from "node:fs";
import { Resvg, type ResvgRenderOptions } from "@resvg/resvg-js";
import type { RasterImage } from "./png";

const DEJAVU_DIRS = [
  "/usr/share/fonts/truetype/dejavu",
  "/usr/share/fonts/TTF",
  "/usr/share/fonts/dejavu",
];
const DEJAVU_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

let cachedFont: ResvgRenderOptions["font"] | undefined;

function fontOptions(): ResvgRenderOptions["font"] {
  if (cachedFont !== undefined) return cachedFont;
  for (const dir of DEJAVU_DIRS) {
    const files = DEJAVU_FILES.map((f) => `${dir}/${f}`);
    if (files.every((f) => fs.existsSync(f))) {
      cachedFont = {
        loadSystemFonts: false,
        fontFiles: files,
        defaultFontFamily: "DejaVu Sans",
        sansSerifFamily: "DejaVu Sans",
        serifFamily: "DejaVu Sans",
        monospaceFamily: "DejaVu Sans",
      };
      return cachedFont;
    }
  }
  cachedFont = { loadSystemFonts: true };
  return cachedFont;
}

/** The font family SVG text should name so that it matches what we load. */
export const FONT_FAMILY = "DejaVu Sans, sans-serif";

export interface RasterizeOptions {
  /** Zoom factor (2 = twice the SVG's size, for sharp charts). Default 1. */
  scale?: number;
  /** CSS colour painted under the SVG; default none (transparent). */
  background?: string;
}

function render(svg: string, options: RasterizeOptions) {
  const scale = options.scale ?? 1;
  if (!(scale > 0)) throw new Error(`rasterize: scale must be > 0, got ${scale}`);
  const resvg = new Resvg(svg, {
    font: fontOptions(),
    fitTo: scale === 1 ? { mode: "original" } : { mode: "zoom", value: scale },
    background: options.background,
    logLevel: "off",
  });
  return resvg.render();
}

/** Renders SVG text to PNG bytes. */
export function svgToPng(svg: string, options: RasterizeOptions = {}): Uint8Array {
  return new Uint8Array(render(svg, options).asPng());
}

/** Renders SVG text to RGBA pixels (premultiplied alpha is undone by resvg). */
export function svgToRaster(svg: string, options: RasterizeOptions = {}): RasterImage {
  const image = render(svg, options);
  return {
    width: image.width,
    height: image.height,
    channels: 4,
    data: new Uint8Array(image.pixels),
  };
}
