/**
 * Figures of the lecture: shown inline and saved as `<figuresDir>/<section>/<name>.png`
 * (+ `.svg` for charts), each recorded in `<figuresDir>/manifest.json`.
 *
 * The one call for notebooks:
 *   const fig = figure({ section: "7.2", name: "reconstructions-d8", caption: "...", slide: "..." });
 *   fig.grid(images, { rows: 3, titles });   // or: await fig.chart(trainingCurves(...))
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendReport } from "../backend";
import { readSettings, settings } from "../settings";
import type { ChartSpec } from "./charts";
import { writeFileAtomic } from "../atomic-write";
import { imageGrid, type GridOptions, type ImageBatch } from "./grid";
import {
  checkName,
  describeFile,
  provenance,
  recordInManifest,
  type ModelHashes,
  type Provenance,
} from "./manifest";
import { pngSize } from "./png";
import { renderChart } from "./render";
import { showPng, showRenderedChart, type ShowChartOptions } from "./show";

/** What a figure is: where it goes and what it shows. */
export interface FigureInfo {
  /** Lecture section, e.g. "7.1" (folder name under the figures folder). */
  section: string;
  /** File name without extension: letters, digits, '-', '_', '.'. */
  name: string;
  /** One sentence saying what the figure shows (goes into the generated README). */
  caption: string;
  /** The lecture slide it reproduces, e.g. "slide 14: X vs g∘f(X), CNN and PCA, d = 2". */
  slide?: string;
  /** The checkpoint hashes of the models behind it, by name (the manifest records them). */
  models?: ModelHashes;
}

export interface SaveFigureOptions extends FigureInfo {
  png: Uint8Array;
  /** The SVG of a chart, saved beside the PNG. */
  svg?: string;
  /** PNG pixels per CSS pixel (charts: 2). Default 1. */
  scale?: number;
}

/** Figures folder: DLC_FIGURES_DIR, read at each call (tests and the main job set it). */
function figuresDir(): string {
  return readSettings().figuresDir;
}

/** Provenance of something saved now (run state, seed, backend, dataset). */
export function currentProvenance(): Provenance {
  return provenance({
    seed: settings.seed,
    // "native" for the wasm backend with the addon's kernels.
    backend: backendReport()?.name ?? tf.getBackend() ?? "none",
    dataset: settings.dataset,
    quick: settings.quick,
  });
}

/**
 * Writes `<figuresDir>/<section>/<name>.png` (and `.svg`) atomically and records the
 * figure in the manifest (replacing an older entry of the same section and name).
 * Returns the PNG's absolute path.
 */
export function saveFigure(options: SaveFigureOptions): string {
  checkName("figure section", options.section);
  checkName("figure name", options.name);
  if (typeof options.caption !== "string" || options.caption.trim() === "") {
    throw new Error(
      `figure ${options.section}/${options.name}: give a caption (what the figure shows)`,
    );
  }
  const { width, height } = pngSize(options.png);
  const dir = figuresDir();
  const base = path.join(dir, options.section, options.name);
  writeFileAtomic(`${base}.png`, options.png);
  const files = [describeFile(dir, `${base}.png`, options.png)];
  if (options.svg !== undefined) {
    writeFileAtomic(`${base}.svg`, options.svg);
    files.push(describeFile(dir, `${base}.svg`, options.svg));
  }
  recordInManifest(dir, {
    figure: {
      section: options.section,
      name: options.name,
      kind: options.svg === undefined ? "image" : "chart",
      caption: options.caption,
      slide: options.slide ?? null,
      ...currentProvenance(),
      ...(options.models !== undefined ? { models: options.models } : {}),
      width,
      height,
      scale: options.scale ?? 1,
      files,
    },
  });
  return `${base}.png`;
}

/** A figure to show inline and save in one call. */
export class Figure {
  constructor(readonly info: FigureInfo) {
    checkName("figure section", info.section);
    checkName("figure name", info.name);
  }

  /** Path of the PNG once saved (null before). */
  file: string | null = null;

  // The methods return nothing so that a notebook cell ending with one prints nothing.

  /** An image grid (see imageGrid): saved, then shown inline. */
  grid(images: ImageBatch, options: GridOptions = {}): void {
    this.png(imageGrid(images, options));
  }

  /** PNG bytes made elsewhere: saved, then shown inline. */
  png(png: Uint8Array): void {
    this.file = saveFigure({ ...this.info, png });
    showPng(png, { alt: this.info.caption });
  }

  /** A vega-lite chart: rendered once, saved as PNG + SVG, shown inline. */
  async chart(spec: ChartSpec, options: ShowChartOptions = {}): Promise<void> {
    const chart = await renderChart(spec, { scale: options.scale });
    this.file = saveFigure({ ...this.info, png: chart.png, svg: chart.svg, scale: chart.scale });
    showRenderedChart(spec, chart, options);
  }
}

/** Starts a figure: `figure({ section, name, caption, slide }).grid(...)` or `.chart(...)`. */
export function figure(info: FigureInfo): Figure {
  return new Figure(info);
}
