/**
 * Vega-lite chart builders for the figures of the lecture. Each returns a plain
 * vega-lite spec (JSON), rendered by lib/viz/render.ts (server side) or by JupyterLab.
 *
 * The specs are checked against vega-lite's TopLevelSpec when lib/ compiles; the
 * exported type is our own ChartSpec because vega-lite's types can only be named from
 * CommonJS with an import attribute that the TypeScript inside tslab cannot parse.
 */
import type { DataFrame } from "nodejs-polars";
import type { TopLevelSpec } from "vega-lite" with { "resolution-mode": "import" };

/** A vega-lite top-level spec (JSON object with "$schema": vega-lite v6). */
export interface ChartSpec {
  $schema: string;
  [key: string]: unknown;
}

/** Sizes, titles and scales shared by the builders. */
export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Plot area in CSS pixels (default 400 x 250). */
  width?: number;
  height?: number;
  /** The values are fractions: the axis reads 0%..100% (lineChart, barChart). */
  xPercent?: boolean;
  yPercent?: boolean;
}

const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

type Row = Record<string, number | string>;
type LayerItem = Extract<TopLevelSpec, { layer: unknown }>["layer"][number];

/** Rounds to 6 significant digits: smaller specs, and no float noise in saved JSON. */
function num(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
}

function finite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]))
      throw new Error(`${name}[${i}] is ${values[i]}; charts need finite numbers`);
  }
}

function sameLength(what: string, arrays: Record<string, ArrayLike<unknown> | undefined>): number {
  let n = -1;
  for (const a of Object.values(arrays)) {
    if (a === undefined) continue;
    if (n === -1) n = a.length;
    else if (a.length !== n) {
      const lengths = Object.entries(arrays)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}: ${v?.length}`)
        .join(", ");
      throw new Error(`${what}: arrays must have the same length (${lengths})`);
    }
  }
  return n;
}

function top(options: ChartOptions, body: TopLevelSpec): ChartSpec {
  const spec = {
    $schema: VEGA_LITE_SCHEMA,
    ...(options.title === undefined ? {} : { title: options.title }),
    width: options.width ?? 400,
    height: options.height ?? 250,
    background: "white",
    ...body,
  } as TopLevelSpec;
  return spec as unknown as ChartSpec;
}

/** Axis label format for fractions shown as percentages ("~%": 0.5 -> 50%, 0.125 -> 12.5%). */
const PERCENT = "~%";

/** One named curve: y against x. */
export interface Series {
  /** Legend entry of the line's colour, e.g. the model ("d = 8", "PCA"). */
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /**
   * Legend entry of the line's dash, e.g. "train" / "test": series with the same name and
   * different dashes share a colour; the first dash value met is solid, later ones dashed.
   */
  dash?: string;
}

/** Whether an axis is logarithmic: "auto" = when the data are positive and span a decade. */
export type LogAxis = boolean | "auto";

export interface LineOptions extends ChartOptions {
  /** Default false; "auto": log only when the values span a factor of 10 or more. */
  logX?: LogAxis;
  logY?: LogAxis;
  /** Ticks on the x axis exactly at these values (e.g. the d values, the epochs). */
  xTicks?: readonly number[];
  /** The x axis spans exactly this interval (default: the data, rounded outwards). */
  xDomain?: readonly [number, number];
  /** Also mark each data point (default: when a series has at most 30 points). */
  points?: boolean;
  /** Title of the colour legend: what the series names are, e.g. "model" (default none). */
  seriesTitle?: string;
  /** Title of the dash legend, e.g. "data" (default none). */
  dashTitle?: string;
}

/** Data spanning at least this factor get a log axis under "auto". */
const DECADE = 10;

function isLog(axis: LogAxis | undefined, values: readonly number[]): boolean {
  if (axis !== "auto") return axis === true;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return lo > 0 && hi / lo >= DECADE;
}

const GRAY_LINE_SYMBOL = {
  stroke: { value: "#666666" },
  fill: { value: "transparent" },
  fillOpacity: { value: 1 },
  opacity: { value: 1 },
};

/** Dash patterns in legend order: solid, dashed, dotted, dash-dot. */
const DASHES: number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [6, 2, 2, 2],
];

/**
 * y against x, one line per series: colour by name, dash by `dash` (train / test), as
 * Altair draws `color=` and `strokeDash=` encodings.
 */
export function lineChart(series: readonly Series[], options: LineOptions = {}): ChartSpec {
  if (series.length === 0) throw new Error("lineChart: no series to draw");
  const values: Row[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    const what = `lineChart "${s.name}"${s.dash === undefined ? "" : ` (${s.dash})`}`;
    sameLength(`${what} series`, { x: s.x, y: s.y });
    finite(`${what}.x`, s.x);
    finite(`${what}.y`, s.y);
    if (options.logY === true) positive(`${what}.y (log scale)`, s.y);
    if (options.logX === true) positive(`${what}.x (log scale)`, s.x);
    for (let i = 0; i < s.x.length; i++) {
      values.push({ series: s.name, dash: s.dash ?? "", x: num(s.x[i]!), y: num(s.y[i]!) });
      xs.push(s.x[i]!);
      ys.push(s.y[i]!);
    }
  }
  const names = [...new Set(series.map((s) => s.name))];
  const dashes = [...new Set(series.flatMap((s) => (s.dash === undefined ? [] : [s.dash])))];
  if (dashes.length > 0 && series.some((s) => s.dash === undefined)) {
    throw new Error("lineChart: give every series a dash, or none");
  }
  if (dashes.length > DASHES.length)
    throw new Error(`lineChart: at most ${DASHES.length} dash values, got ${dashes.length}`);
  const logX = isLog(options.logX, xs);
  const logY = isLog(options.logY, ys);
  const points = options.points ?? series.every((s) => s.x.length <= 30);
  // One model and several dashes: one colour, no colour legend.
  const colour =
    names.length > 1 || dashes.length === 0
      ? {
          color: {
            field: "series",
            type: "nominal" as const,
            title: options.seriesTitle ?? null,
            sort: names,
            ...(names.length === 1 ? { legend: null } : {}),
          },
        }
      : {};
  const dash =
    dashes.length === 0
      ? {}
      : {
          strokeDash: {
            field: "dash",
            type: "nominal" as const,
            title: options.dashTitle ?? null,
            sort: dashes,
            scale: { domain: dashes, range: DASHES.slice(0, dashes.length) },
            // Lines in the legend; gray when the colour says something else. Given whole,
            // so that the line and point layers agree (vega-lite draws the points' legend
            // symbols without a stroke).
            legend: {
              symbolType: "stroke",
              symbolStrokeWidth: 2,
              ...(names.length > 1 ? { encoding: { symbols: GRAY_LINE_SYMBOL } } : {}),
            },
          },
        };
  return top(options, {
    data: { values },
    mark: { type: "line", point: points, strokeWidth: 2 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: options.xTitle ?? "x",
        // With given ticks the axis spans the data only (no rounding out to 1 and 100).
        scale: {
          ...(logX ? { type: "log" as const } : { zero: false }),
          ...(options.xTicks && logX ? { nice: false } : {}),
          ...(options.xDomain ? { domain: [...options.xDomain], nice: false } : {}),
        },
        ...axisFormat(options.xTicks, options.xPercent),
      },
      y: {
        field: "y",
        type: "quantitative",
        title: options.yTitle ?? "y",
        // A log axis spans the data, not the decades around it (no empty decades).
        scale: logY ? { type: "log", nice: false, padding: 8 } : { zero: false },
        ...axisFormat(undefined, options.yPercent, logY),
      },
      ...colour,
      ...dash,
    },
  });
}

function axisFormat(
  ticks: readonly number[] | undefined,
  percent: boolean | undefined,
  log = false,
): { axis?: { values?: number[]; format: string; tickCount?: number } } {
  if (ticks === undefined && !percent && !log) return {};
  return {
    axis: {
      ...(ticks ? { values: [...ticks] } : {}),
      // A log axis labels about 6 values, not every 2..9 of each decade.
      ...(log && ticks === undefined ? { tickCount: 6 } : {}),
      format: percent ? PERCENT : "~g",
    },
  };
}

function positive(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!(values[i]! > 0))
      throw new Error(`${name}[${i}] = ${values[i]}: a log scale needs values > 0`);
  }
}

/** Values of one curve: one per epoch (at epochs 1, 2, ...), or points at given epochs. */
export type CurveValues = ArrayLike<number> | { x: ArrayLike<number>; y: ArrayLike<number> };

/** A model's curves on the training and the test data. */
export interface SplitCurves {
  train?: CurveValues;
  test?: CurveValues;
}

export interface CurveOptions extends ChartOptions {
  /** Default "auto": log when the values span a factor of 10 or more. */
  logY?: LogAxis;
  /** Epoch number of the first value of per-epoch arrays (default 1). */
  firstEpoch?: number;
  /** Title of the colour legend when there are several models, e.g. "d" (default none). */
  modelTitle?: string;
}

/** A training's logs: per epoch (train and test means) and every few steps (training). */
export interface CurveLogs {
  log: DataFrame;
  history: DataFrame;
}

/**
 * One logged term of a training as trainingCurves takes it: the training values every few
 * steps (history's train_<term>) and the test values per epoch (log's test_<term>).
 */
export function logCurve(logs: CurveLogs, term: string): SplitCurves {
  const column = (frame: DataFrame, name: string): CurveValues | undefined =>
    frame.columns.includes(name)
      ? {
          x: frame.getColumn("epoch").toArray() as number[],
          y: frame.getColumn(name).toArray() as number[],
        }
      : undefined;
  const train = column(logs.history, `train_${term}`);
  const test = column(logs.log, `test_${term}`);
  if (train === undefined && test === undefined) {
    throw new Error(
      `logCurve: no train_${term} or test_${term} in the logs (columns: ${logs.log.columns.join(", ")})`,
    );
  }
  return { ...(train ? { train } : {}), ...(test ? { test } : {}) };
}

function isCurveValues(v: unknown): v is CurveValues {
  return typeof v === "object" && v !== null && ("length" in v || "y" in v);
}

/**
 * Training curves, train solid and test dashed in one colour per model:
 * `trainingCurves({ train: [0.3, 0.1], test: [0.35, 0.2] })` for one model,
 * `trainingCurves({ "d = 2": { train, test }, "d = 4": { ... } }, { modelTitle: "d" })` for several.
 * A curve is one value per epoch, or `{ x, y }` with x in (fractional) epochs.
 */
export function trainingCurves(
  curves: SplitCurves | Record<string, SplitCurves>,
  options: CurveOptions = {},
): ChartSpec {
  const entries = Object.entries(curves as Record<string, unknown>);
  const single = entries.every(([k, v]) => (k === "train" || k === "test") && isCurveValues(v));
  const models: [string, SplitCurves][] = single
    ? [["", curves as SplitCurves]]
    : (entries as [string, SplitCurves][]);
  const first = options.firstEpoch ?? 1;
  const series: Series[] = [];
  for (const [name, splits] of models) {
    for (const split of ["train", "test"] as const) {
      const v = splits[split];
      if (v === undefined) continue;
      if (!isCurveValues(v)) {
        throw new Error(
          `trainingCurves: "${name || split}" must be { train, test } of arrays or { x, y }`,
        );
      }
      if ("y" in v && "x" in v) {
        series.push({ name, dash: split, x: v.x, y: v.y });
      } else {
        const y = v as ArrayLike<number>;
        series.push({
          name,
          dash: split,
          y,
          x: Array.from({ length: y.length }, (_, i) => first + i),
        });
      }
    }
  }
  if (series.length === 0) throw new Error("trainingCurves: no curve to draw");
  // The x axis runs over whole epochs, each labelled when there are few; a single
  // epoch gets half an epoch each side.
  const xs = series.flatMap((s) => Array.from(s.x));
  const [lo, hi] = [Math.floor(Math.min(...xs)), Math.ceil(Math.max(...xs))];
  const ticks = hi - lo <= 12 ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : undefined;
  const domain: [number, number] = hi > lo ? [lo, hi] : [lo - 0.5, lo + 0.5];
  return lineChart(series, {
    xTitle: "epoch",
    yTitle: "loss",
    ...(ticks ? { xDomain: domain, xTicks: ticks } : {}),
    dashTitle: "data",
    seriesTitle: options.modelTitle,
    ...options,
    logY: options.logY ?? "auto",
  });
}

/** Points in 2-D with an optional class label each (digits for MNIST). */
export interface ScatterData {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  label?: ArrayLike<number | string>;
}

/**
 * Scatter data from groups of 2-D points, each a flat [x0, y0, x1, y1, ...] array, labelled by
 * its group's name (in the order given: later groups are drawn on top).
 */
export function pointGroups(groups: Record<string, ArrayLike<number>>): {
  x: number[];
  y: number[];
  label: string[];
} {
  const x: number[] = [];
  const y: number[] = [];
  const label: string[] = [];
  for (const [name, points] of Object.entries(groups)) {
    if (points.length % 2 !== 0) {
      throw new Error(`pointGroups: "${name}" has ${points.length} values, not x, y pairs`);
    }
    for (let i = 0; i < points.length; i += 2) {
      x.push(points[i]!);
      y.push(points[i + 1]!);
      label.push(name);
    }
  }
  return { x, y, label };
}

export interface ScatterOptions extends ChartOptions {
  /** Legend title (default "label"). */
  labelTitle?: string;
  /** Point area in square pixels (default 12). */
  size?: number;
  opacity?: number;
  /** A colour per label (CSS), instead of the category10 scheme: every label needs one. */
  colors?: Readonly<Record<string, string>>;
  /** Labels drawn 8 times larger, opaque and outlined: the few points the chart is about. */
  emphasize?: readonly string[];
  /** Axis ranges, points outside left out (the legend keeps every label): a zoom. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
}

/** 2-D scatter coloured by label (e.g. a 2-D latent space coloured by digit). */
export function scatter(data: ScatterData, options: ScatterOptions = {}): ChartSpec {
  const n = sameLength("scatter", { x: data.x, y: data.y, label: data.label });
  finite("scatter.x", data.x);
  finite("scatter.y", data.y);
  // Left out rather than clipped: resvg cannot draw a clipped group holding far-away points.
  const inside = (v: number, d: readonly [number, number] | undefined) =>
    d === undefined || (v >= d[0] && v <= d[1]);
  const values: Row[] = [];
  for (let i = 0; i < n; i++) {
    if (!inside(data.x[i]!, options.xDomain) || !inside(data.y[i]!, options.yDomain)) continue;
    const row: Row = { x: num(data.x[i]!), y: num(data.y[i]!) };
    if (data.label !== undefined) row.label = String(data.label[i]);
    values.push(row);
  }
  const labels = data.label === undefined ? [] : sortedLabels(data.label);
  const colors = options.colors;
  const missing = colors === undefined ? [] : labels.filter((l) => colors[l] === undefined);
  if (missing.length > 0) {
    throw new Error(`scatter: no colour for label(s) ${missing.join(", ")}; give every label one`);
  }
  const unknown = (options.emphasize ?? []).filter((l) => !labels.includes(l));
  if (unknown.length > 0) {
    throw new Error(`scatter: cannot emphasize ${unknown.join(", ")}: no point has that label`);
  }
  const size = options.size ?? 12;
  const opacity = options.opacity ?? 0.7;
  const emphasized = { field: "label", oneOf: [...(options.emphasize ?? [])] };
  const domain = (d: readonly [number, number] | undefined) =>
    d === undefined ? { zero: false } : { domain: [...d], zero: false };
  return top(options, {
    data: { values },
    mark: { type: "circle", size, opacity },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: options.xTitle ?? "x",
        scale: domain(options.xDomain),
      },
      y: {
        field: "y",
        type: "quantitative",
        title: options.yTitle ?? "y",
        scale: domain(options.yDomain),
      },
      ...(data.label === undefined
        ? {}
        : {
            color: {
              field: "label",
              type: "nominal" as const,
              title: options.labelTitle ?? "label",
              sort: labels,
              scale:
                colors === undefined
                  ? { scheme: labels.length <= 10 ? "category10" : "category20" }
                  : { domain: labels, range: labels.map((l) => colors[l]!) },
            },
          }),
      ...(options.emphasize === undefined
        ? {}
        : {
            size: { condition: { test: emphasized, value: 8 * size }, value: size },
            opacity: { condition: { test: emphasized, value: 1 }, value: opacity },
            stroke: { condition: { test: emphasized, value: "black" }, value: null },
          }),
    },
  });
}

/** Distinct labels, numbers in numeric order. */
function sortedLabels(labels: ArrayLike<number | string>): string[] {
  const set = new Set<number | string>();
  for (let i = 0; i < labels.length; i++) set.add(labels[i]!);
  return [...set]
    .sort((a, b) =>
      typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)),
    )
    .map(String);
}

/** Arrows from (x, y) to (x + dx, y + dy). */
export interface ArrowData {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  dx: ArrayLike<number>;
  dy: ArrayLike<number>;
}

export interface QuiverOptions extends ChartOptions {
  /** Multiplies every displacement before drawing (default 1). */
  scale?: number;
  /** Points drawn under the arrows (e.g. the training samples). */
  points?: { x: ArrayLike<number>; y: ArrayLike<number> };
  color?: string;
}

/**
 * Vector field (quiver): a segment per arrow and a triangle head turned along it.
 * The head angle is computed in screen space, so the axes get fixed domains.
 */
export function quiver(arrows: ArrowData, options: QuiverOptions = {}): ChartSpec {
  const n = sameLength("quiver", { x: arrows.x, y: arrows.y, dx: arrows.dx, dy: arrows.dy });
  for (const k of ["x", "y", "dx", "dy"] as const) finite(`quiver.${k}`, arrows[k]);
  const k = options.scale ?? 1;
  const width = options.width ?? 400;
  const height = options.height ?? 400;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(arrows.x[i]!, arrows.x[i]! + k * arrows.dx[i]!);
    ys.push(arrows.y[i]!, arrows.y[i]! + k * arrows.dy[i]!);
  }
  if (options.points !== undefined) {
    sameLength("quiver points", options.points);
    for (let i = 0; i < options.points.x.length; i++) {
      xs.push(options.points.x[i]!);
      ys.push(options.points.y[i]!);
    }
  }
  const [x0, x1] = paddedExtent(xs);
  const [y0, y1] = paddedExtent(ys);
  const kx = width / (x1 - x0);
  const ky = height / (y1 - y0);
  const values: Row[] = [];
  for (let i = 0; i < n; i++) {
    const ex = arrows.x[i]! + k * arrows.dx[i]!;
    const ey = arrows.y[i]! + k * arrows.dy[i]!;
    // Vega symbol angles are degrees clockwise from "up"; screen y grows downwards.
    const angle = (Math.atan2(arrows.dx[i]! * kx, arrows.dy[i]! * ky) * 180) / Math.PI;
    values.push({
      x: num(arrows.x[i]!),
      y: num(arrows.y[i]!),
      x2: num(ex),
      y2: num(ey),
      angle: num(angle),
    });
  }
  const color = options.color ?? "#1f4e99";
  const xScale = { domain: [num(x0), num(x1)], nice: false, zero: false };
  const yScale = { domain: [num(y0), num(y1)], nice: false, zero: false };
  const xTitle = options.xTitle ?? "x";
  const yTitle = options.yTitle ?? "y";
  const layers: LayerItem[] = [];
  if (options.points !== undefined) {
    const pts: Row[] = [];
    for (let i = 0; i < options.points.x.length; i++) {
      pts.push({ x: num(options.points.x[i]!), y: num(options.points.y[i]!) });
    }
    layers.push({
      data: { values: pts },
      mark: { type: "circle", size: 8, color: "#999999", opacity: 0.6 },
      encoding: {
        x: { field: "x", type: "quantitative", scale: xScale, title: xTitle },
        y: { field: "y", type: "quantitative", scale: yScale, title: yTitle },
      },
    });
  }
  layers.push(
    {
      data: { values },
      mark: { type: "rule", color, strokeWidth: 1.2 },
      encoding: {
        x: { field: "x", type: "quantitative", scale: xScale, title: xTitle },
        y: { field: "y", type: "quantitative", scale: yScale, title: yTitle },
        x2: { field: "x2" },
        y2: { field: "y2" },
      },
    },
    {
      data: { values },
      mark: { type: "point", shape: "triangle", filled: true, size: 30, color, opacity: 1 },
      encoding: {
        x: { field: "x2", type: "quantitative", scale: xScale, title: xTitle },
        y: { field: "y2", type: "quantitative", scale: yScale, title: yTitle },
        angle: { field: "angle", type: "quantitative", scale: null },
      },
    },
  );
  return top({ ...options, width, height }, { layer: layers });
}

function paddedExtent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return [lo - 1, hi + 1];
  const m = 0.05 * (hi - lo);
  return [lo - m, hi + m];
}

export interface HistogramOptions extends ChartOptions {
  /** Number of equal-width bins over the extent (default 40). */
  bins?: number;
  /** Histogram range (default: min and max of the samples and of the density's x). */
  extent?: readonly [number, number];
  /** Legend names (default "samples" and "density"). */
  sampleName?: string;
  densityName?: string;
}

/**
 * Histogram of samples normalised as a density (area 1), against a density curve
 * given as points or as a function evaluated on 200 points over the extent.
 */
export function histogramDensity(
  samples: ArrayLike<number>,
  density: { x: ArrayLike<number>; y: ArrayLike<number> } | ((x: number) => number),
  options: HistogramOptions = {},
): ChartSpec {
  if (samples.length === 0) throw new Error("histogramDensity: no samples");
  finite("histogramDensity samples", samples);
  const bins = options.bins ?? 40;
  if (!Number.isInteger(bins) || bins <= 0)
    throw new Error(`histogramDensity: bins must be a positive integer, got ${bins}`);
  let [lo, hi] = options.extent ?? [Infinity, -Infinity];
  if (options.extent === undefined) {
    for (let i = 0; i < samples.length; i++) {
      lo = Math.min(lo, samples[i]!);
      hi = Math.max(hi, samples[i]!);
    }
    if (typeof density !== "function") {
      for (let i = 0; i < density.x.length; i++) {
        lo = Math.min(lo, density.x[i]!);
        hi = Math.max(hi, density.x[i]!);
      }
    }
    if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  }
  if (!(hi > lo)) throw new Error(`histogramDensity: extent [${lo}, ${hi}] must have lo < hi`);
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < samples.length; i++) {
    const b = Math.floor((samples[i]! - lo) / width);
    if (samples[i]! < lo || samples[i]! > hi) continue;
    counts[Math.min(b, bins - 1)]! += 1;
  }
  const sampleName = options.sampleName ?? "samples";
  const densityName = options.densityName ?? "density";
  const bars: Row[] = counts.map((c, b) => ({
    x: num(lo + b * width),
    x2: num(lo + (b + 1) * width),
    y: num(c / (samples.length * width)),
    series: sampleName,
  }));
  let curve: { x: ArrayLike<number>; y: ArrayLike<number> };
  if (typeof density === "function") {
    const xs = Array.from({ length: 200 }, (_, i) => lo + ((hi - lo) * i) / 199);
    curve = { x: xs, y: xs.map(density) };
  } else {
    curve = density;
  }
  sameLength("histogramDensity density", curve);
  finite("histogramDensity density.y", curve.y);
  const line: Row[] = [];
  for (let i = 0; i < curve.x.length; i++)
    line.push({ x: num(curve.x[i]!), y: num(curve.y[i]!), series: densityName });
  const color = {
    field: "series",
    type: "nominal" as const,
    title: null,
    scale: { domain: [sampleName, densityName], range: ["#9ecae1", "#d62728"] },
  };
  const xTitle = options.xTitle ?? "x";
  return top(options, {
    layer: [
      {
        data: { values: bars },
        mark: { type: "rect", stroke: "white", strokeWidth: 0.5 },
        encoding: {
          x: {
            field: "x",
            type: "quantitative",
            title: xTitle,
            scale: { domain: [num(lo), num(hi)], nice: false, zero: false },
          },
          x2: { field: "x2" },
          y: { field: "y", type: "quantitative", title: options.yTitle ?? "density" },
          y2: { datum: 0 },
          color,
        },
      },
      {
        data: { values: line },
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x: { field: "x", type: "quantitative" },
          y: { field: "y", type: "quantitative" },
          color,
        },
      },
    ],
  });
}

export interface HeatmapOptions extends ChartOptions {
  /** Signed values: blue-white-red centred on 0 (default: viridis). */
  diverging?: boolean;
  /** Column and row names (default 0, 1, ...). */
  xLabels?: readonly string[];
  yLabels?: readonly string[];
  /** Legend title (default "value"). */
  valueTitle?: string;
}

/** Heatmap of a matrix given as rows (values[row][column]); row 0 at the top. */
export function heatmap(
  values: readonly ArrayLike<number>[],
  options: HeatmapOptions = {},
): ChartSpec {
  if (values.length === 0 || values[0]!.length === 0) throw new Error("heatmap: empty matrix");
  const cols = values[0]!.length;
  const xLabels = options.xLabels ?? Array.from({ length: cols }, (_, i) => String(i));
  const yLabels = options.yLabels ?? values.map((_, i) => String(i));
  if (xLabels.length !== cols)
    throw new Error(`heatmap: ${xLabels.length} xLabels for ${cols} columns`);
  if (yLabels.length !== values.length)
    throw new Error(`heatmap: ${yLabels.length} yLabels for ${values.length} rows`);
  const rows: Row[] = [];
  let maxAbs = 0;
  values.forEach((row, r) => {
    if (row.length !== cols)
      throw new Error(`heatmap: row ${r} has ${row.length} values, row 0 has ${cols}`);
    finite(`heatmap row ${r}`, row);
    for (let c = 0; c < cols; c++) {
      rows.push({ col: xLabels[c]!, row: yLabels[r]!, value: num(row[c]!) });
      maxAbs = Math.max(maxAbs, Math.abs(row[c]!));
    }
  });
  const m = num(maxAbs > 0 ? maxAbs : 1);
  return top(options, {
    data: { values: rows },
    mark: { type: "rect" },
    encoding: {
      x: {
        field: "col",
        type: "ordinal",
        sort: [...xLabels],
        title: options.xTitle ?? null,
        // Short column names read best upright; long ones are turned by vega-lite.
        ...(xLabels.every((l) => l.length <= 6) ? { axis: { labelAngle: 0 } } : {}),
      },
      y: { field: "row", type: "ordinal", sort: [...yLabels], title: options.yTitle ?? null },
      color: {
        field: "value",
        type: "quantitative",
        title: options.valueTitle ?? "value",
        scale: options.diverging
          ? { scheme: "redblue", reverse: true, domain: [-m, m] }
          : { scheme: "viridis" },
      },
    },
  });
}

/** One bar; bars with a `group` are drawn side by side per label, coloured by group. */
export interface Bar {
  label: string;
  value: number;
  group?: string;
}

export interface BarOptions extends ChartOptions {
  /** Bars along y, labels on the left (good for long labels). */
  horizontal?: boolean;
  /** Title of the colour legend of grouped bars: what the groups are (default none). */
  groupTitle?: string;
}

/** Bar chart in the given order of labels. */
export function barChart(bars: readonly Bar[], options: BarOptions = {}): ChartSpec {
  if (bars.length === 0) throw new Error("barChart: no bars");
  finite(
    "barChart values",
    bars.map((b) => b.value),
  );
  const labels = [...new Set(bars.map((b) => b.label))];
  const grouped = bars.some((b) => b.group !== undefined);
  const values: Row[] = bars.map((b) => ({
    label: b.label,
    value: num(b.value),
    group: b.group ?? "",
  }));
  const category = {
    field: "label",
    type: "nominal" as const,
    sort: labels,
    title: options.xTitle ?? null,
  };
  const measure = {
    field: "value",
    type: "quantitative" as const,
    title: options.yTitle ?? "value",
    ...((options.horizontal ? options.xPercent : options.yPercent)
      ? { axis: { format: PERCENT } }
      : {}),
  };
  const groups = grouped ? [...new Set(bars.map((b) => b.group ?? ""))] : [];
  const colour = grouped
    ? {
        color: {
          field: "group",
          type: "nominal" as const,
          sort: groups,
          title: options.groupTitle ?? null,
        },
        ...(options.horizontal
          ? { yOffset: { field: "group", type: "nominal" as const, sort: groups } }
          : { xOffset: { field: "group", type: "nominal" as const, sort: groups } }),
      }
    : {};
  return top(options, {
    data: { values },
    mark: { type: "bar", ...(grouped ? {} : { color: "#4c78a8" }) },
    encoding: options.horizontal
      ? { y: category, x: measure, ...colour }
      : { x: { ...category, axis: { labelAngle: 0 } }, y: measure, ...colour },
  });
}
