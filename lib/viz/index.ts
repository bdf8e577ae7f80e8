/**
 * Everything a notebook draws with: `import { figure, Progress, ... } from "dlc7/viz"`.
 */
export { Progress, type ProgressMode } from "./progress";
export { formatNumber, plural } from "./format";
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
  type Series,
} from "./charts";
export { showTable, saveTable } from "./tables";
export { figure, Figure } from "./figures";
export { readManifest, type Manifest, type FigureEntry, type TableEntry } from "./manifest";
