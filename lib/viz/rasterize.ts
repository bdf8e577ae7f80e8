/**
 * SVG to pixels with @resvg/resvg-js. Fonts are pinned (DejaVu Sans when the system has
 * it, else the system fonts; see fonts.ts) so that text renders the same way on every run.
 */
import { Resvg, type ResvgRenderOptions } from "@resvg/resvg-js";
import { dejaVuFiles } from "./fonts";
import type { RasterImage } from "./png";

let cachedFont: ResvgRenderOptions["font"] | undefined;

function fontOptions(): ResvgRenderOptions["font"] {
  if (cachedFont !== undefined) return cachedFont;
  const files = dejaVuFiles();
  cachedFont =
    files === null
      ? { loadSystemFonts: true }
      : {
          loadSystemFonts: false,
          fontFiles: [files.regular, files.bold],
          defaultFontFamily: "DejaVu Sans",
          sansSerifFamily: "DejaVu Sans",
          serifFamily: "DejaVu Sans",
          monospaceFamily: "DejaVu Sans",
        };
  return cachedFont;
}

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
