/**
 * Everything a notebook draws with: `import { figure, Progress, ... } from "dlc7/viz"`.
 */
export { Progress, type ProgressMode, type ProgressOptions } from "./progress";
export { formatNumber, formatCount, formatDuration, plural } from "./format";
export {
  imageGrid,
  renderGrid,
  gridLayout,
  gridSvg,
  grayLevel,
  divergingColor,
  type ImageBatch,
  type GridOptions,
  type GridLayout,
  type GridText,
  type Colormap,
} from "./grid";
export { encodePng, pngSize, type RasterImage } from "./png";
export { svgToPng } from "./rasterize";
export {
  lineChart,
  trainingCurves,
  logCurve,
  scatter,
  pointGroups,
  quiver,
  histogramDensity,
  heatmap,
  barChart,
  type ChartSpec,
  type ChartOptions,
  type Series,
  type LineOptions,
  type LogAxis,
  type CurveOptions,
  type CurveValues,
  type CurveLogs,
  type SplitCurves,
  type ScatterData,
  type ScatterOptions,
  type ArrowData,
  type QuiverOptions,
  type HistogramOptions,
  type HeatmapOptions,
  type Bar,
  type BarOptions,
} from "./charts";
export { renderChart, compileChart, type RenderedChart, type RenderOptions } from "./render";
export { showPng, showHtml, type ShowChartOptions } from "./show";
export { showTable, saveTable, tableHtml, type TableOptions } from "./tables";
export { figure, saveFigure, Figure, type FigureInfo, type SaveFigureOptions } from "./figures";
export {
  readManifest,
  readRunState,
  type Manifest,
  type FigureEntry,
  type TableEntry,
  type RunState,
} from "./manifest";
