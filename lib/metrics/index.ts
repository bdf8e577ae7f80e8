/** Measures of reconstructions and samples: `import { msePerPixel, psnr } from "dlc7/metrics"`. */
export {
  msePerPixel,
  reconstructionMsePerPixel,
  reconstructionReport,
  psnr,
  psnrFromMse,
  type ReconstructionReport,
} from "./reconstruction";
export { agreement, confidenceSummary } from "./classification";
export { summarize, median, type Summary } from "./summary";
export { ksCriticalValue, latentStatistics, type DimensionStatistics } from "./latent-space";
export { imageFeatureMoments, frechetDistance } from "./frechet";
export { FACTORS, factorReference, traversalEffects, concentration } from "./disentanglement";
export { psnrPerImage } from "./per-image";
export { neighbourCorrelation, activePixels } from "./filters";
