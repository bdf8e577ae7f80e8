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
export {
  normalCdf,
  ksDistance,
  ksCriticalValue,
  latentStatistics,
  activeUnits,
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
