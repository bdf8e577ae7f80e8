/**
 * Server-side chart rendering: vega-lite spec -> vega -> SVG (View.toSVG) -> PNG (resvg).
 * vega 6 and vega-lite 6 are ESM-only with top-level await, so they cannot be
 * require()d from CommonJS (tslab compiles cells as CommonJS); a dynamic import() kept
 * in this module (module node16 leaves it as import() in the compiled output) loads them.
 */
import type { ChartSpec } from "./charts";
import { measuresRealFont, textWidth } from "./fonts";
import { svgToPng } from "./rasterize";

type VegaModule = typeof import("vega", { with: { "resolution-mode": "import" } });
type VegaLiteModule = typeof import("vega-lite", { with: { "resolution-mode": "import" } });

let modules: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | null = null;

function loadVega(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  modules ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vl]) => {
    measureTextLikeResvg(vega);
    return { vega, vl };
  });
  return modules;
}

/** What vega passes its text measure: a text mark's item. */
interface TextItem {
  fontSize?: number | string | null;
  fontWeight?: number | string | null;
}
type TextMetrics = { width: (item: TextItem, text: unknown) => number };

/**
 * Makes vega lay out text (legend and axis labels, titles, label limits) with the widths
 * of the font resvg draws, as vl-convert does for Altair. Without a canvas vega estimates
 * 0.8 em a character, and cut "PyTorch AE, 2 epochs" at its 160-pixel label limit.
 * A label vega cuts still counts its full width in the layout: a little extra space.
 */
function measureTextLikeResvg(vega: VegaModule): void {
  if (!measuresRealFont()) return; // unknown font: vega's wide estimate clips nothing
  const metrics = (vega as unknown as { textMetrics: TextMetrics }).textMetrics;
  metrics.width = (item, text) => {
    const size = item.fontSize == null ? 11 : Number(item.fontSize) || 0;
    const weight = item.fontWeight;
    const bold = weight === "bold" || weight === "bolder" || Number(weight) >= 600;
    return textWidth(text == null ? "" : String(text).trim(), size, bold);
  };
}

/** A chart rendered to both image formats. */
export interface RenderedChart {
  svg: string;
  png: Uint8Array;
  /** Size of the chart in CSS pixels (the PNG is `scale` times larger). */
  width: number;
  height: number;
  scale: number;
}

export interface RenderOptions {
  /** PNG pixels per CSS pixel (default 2, sharp on high-density screens). */
  scale?: number;
}

/** Compiles a vega-lite spec to a vega spec (JSON). */
export async function compileChart(spec: ChartSpec): Promise<object> {
  const { vl } = await loadVega();
  // The cast crosses from our JSON type to vega-lite's; vega-lite validates while compiling.
  return vl.compile(spec as unknown as Parameters<VegaLiteModule["compile"]>[0]).spec;
}

/** Renders a vega-lite spec to SVG and PNG, the same bytes for the same spec. */
export async function renderChart(
  spec: ChartSpec,
  options: RenderOptions = {},
): Promise<RenderedChart> {
  const scale = options.scale ?? 2;
  const { vega } = await loadVega();
  const compiled = (await compileChart(spec)) as Parameters<VegaModule["parse"]>[0];
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Error });
  try {
    // Clip-path and gradient ids come from a global counter: reset it so that the
    // same chart gives the same SVG wherever it falls in the session.
    vega.resetSVGDefIds();
    const svg = await view.toSVG();
    const size = svgSize(svg);
    return { svg, png: svgToPng(svg, { scale }), width: size.width, height: size.height, scale };
  } finally {
    view.finalize();
  }
}

/** The width and height attributes of an SVG root element. */
function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error("svgSize: the SVG root has no width/height");
  return { width, height };
}
