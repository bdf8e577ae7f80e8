/** Measures of reconstructions and samples: `import { msePerPixel, psnr } from "dlc7/metrics"`. */
export {
  msePerPixel,
  reconstructionMsePerPixel,
  reconstructionReport,
  psnr,
  psnrFromMse,
  type Reconstruct,
  type Reconstructor,
  type ReconstructionReport,
} from "./reconstruction";
export { agreement, confidenceSummary, type ConfidenceSummary } from "./classification";
export { summarize, median, type Summary } from "./summary";
export {
  normalCdf,
  ksDistance,
  ksCriticalValue,
  latentStatistics,
  type DimensionStatistics,
} from "./latent-space";
export {
  featureMoments,
  imageFeatureMoments,
  frechetDistance,
  type FeatureMoments,
} from "./frechet";
export {
  strokeStatistics,
  STROKE_STATISTICS,
  type StrokeStatistics,
  type StrokeStatisticName,
} from "./stroke";
export {
  FACTORS,
  factorReference,
  traversalEffects,
  giniImpurity,
  withinGroupVariance,
  concentration,
  type Factor,
  type FactorReference,
  type DimensionEffects,
  type TraversalEffects,
  type TraversalEffectsOptions,
} from "./disentanglement";
export { msePerImage, psnrPerImage } from "./per-image";
export { neighbourCorrelation, activePixels } from "./filters";
