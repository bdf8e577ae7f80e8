/**
 * Server-side chart rendering: vega-lite spec -> vega -> SVG (View.toSVG) -> PNG (resvg).
 * vega 6 and vega-lite 6 are ESM-only with top-level await, so they cannot be
 * require()d from CommonJS (tslab compiles cells as CommonJS); a dynamic import() kept
 * in this module (module node16 leaves it as import() in the compiled output) loads them.
 */
import type { ChartSpec } from "./charts";
import { svgToPng } from "./rasterize";

type VegaModule = typeof import("vega", { with: { "resolution-mode": "import" } });
type VegaLiteModule = typeof import("vega-lite", { with: { "resolution-mode": "import" } });

let modules: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | null = null;

function loadVega(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  modules ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vl]) => ({
    vega,
    vl,
  }));
  return modules;
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
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg[^>]*>/.exec(svg)?.[0] ?? "";
  const width = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error("svgSize: the SVG root has no width/height");
  return { width, height };
}
