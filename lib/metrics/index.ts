/** Measures of reconstructions and samples: `import { msePerPixel, psnr } from "dlc7/metrics"`. */
export {
  msePerPixel,
  reconstructionMsePerPixel,
  psnr,
  psnrFromMse,
  type Reconstruct,
} from "./reconstruction";
export {
  agreement,
  predictLabels,
  digitKeptRate,
  maxProbabilities,
  confidenceSummary,
  type Classify,
  type Probabilities,
  type ConfidenceSummary,
} from "./classification";
