/** The training loop, losses, transforms and checkpoints shared by every notebook. */
export { train, evaluate, logFrame } from "./train";
export type { Dataset, Transform, Trainable, TrainOptions, TrainResult, EpochRow } from "./train";
export {
  halfSumSquaredError,
  sumSquaredError,
  meanSquaredError,
  meanAbsoluteError,
  crossEntropy,
  splitMuLogvar,
  vaeKl,
  reparameterize,
  reconstructionLoss,
  vaeLoss,
  classificationLoss,
} from "./losses";
export type {
  LossFn,
  LossResult,
  StepContext,
  Forward,
  EncodeDecode,
  VaeLossOptions,
} from "./losses";
export { downscale2x, gaussianNoise } from "./transforms";
export type { NoiseOptions } from "./transforms";
export {
  saveCheckpoint,
  loadCheckpoint,
  hasCheckpoint,
  trainOrLoad,
  checkpointFolder,
  checkpointHash,
  canonicalJson,
  CheckpointError,
} from "./checkpoint";
export type {
  CheckpointKey,
  Checkpointable,
  Json,
  TrainOrLoadOptions,
  TrainOrLoadResult,
} from "./checkpoint";
