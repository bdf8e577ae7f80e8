/**
 * Inline output in the notebook: pictures, charts and HTML. Outside a notebook kernel
 * (scripts, tests) these do nothing, so library code can call them unconditionally.
 *
 * Charts go out as ONE display_data holding a vega-lite spec and a PNG: JupyterLab
 * (and Notebook 7) draw the interactive vega-lite chart; the classic Notebook,
 * nbconvert's HTML export and repository viewers (GitHub) do not know the vega-lite
 * type and draw the PNG. Every front end draws exactly one of the two.
 */
import type { ChartSpec } from "./charts";
import { base64, inNotebook, publish } from "../kernel/display";
import { pngSize } from "./png";
import type { RenderedChart } from "./render";

/**
 * The vega-lite mime type JupyterLab 3 and 4 render (with vega-lite 5); our specs use
 * nothing that is new in vega-lite 6, so they are sent under it, with a v5 $schema.
 */
const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";
const V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Shows PNG bytes inline; `width` (CSS pixels) shrinks high-density images. */
export function showPng(png: Uint8Array, options: { width?: number; alt?: string } = {}): void {
  if (!inNotebook()) return;
  const { width, height } = pngSize(png);
  const metadata =
    options.width === undefined
      ? {}
      : {
          "image/png": {
            width: options.width,
            height: Math.round((height * options.width) / width),
          },
        };
  publish(
    { "image/png": base64(png), "text/plain": options.alt ?? `<image ${width}x${height}>` },
    { metadata },
  );
}

/** Shows HTML inline, with a plain-text fallback for viewers without HTML. */
export function showHtml(html: string, text = "<html>"): void {
  if (!inNotebook()) return;
  publish({ "text/html": html, "text/plain": text });
}

export interface ShowChartOptions {
  /** false: PNG only (e.g. charts with many thousands of points). Default true. */
  interactive?: boolean;
  /** PNG pixels per CSS pixel (default 2). */
  scale?: number;
}

/** Shows a rendered chart inline: PNG for every front end, vega-lite where it is drawn. */
export function showRenderedChart(
  spec: ChartSpec,
  chart: RenderedChart,
  options: ShowChartOptions = {},
): void {
  if (!inNotebook()) return;
  const title = typeof spec.title === "string" ? spec.title : "chart";
  const bundle: Record<string, string | object> = {
    "image/png": base64(chart.png),
    "text/plain": `<vega-lite chart: ${title}>`,
  };
  if (options.interactive ?? true) bundle[VEGA_LITE_MIME] = { ...spec, $schema: V5_SCHEMA };
  publish(bundle, { metadata: { "image/png": { width: chart.width, height: chart.height } } });
}
