/** The training loop, losses and checkpoints shared by every notebook. */
export { train, logFrame } from "./train";
export { evaluate, type EvaluateOptions } from "./evaluate";
export { Interrupted } from "./interrupt";
export type {
  TrainingData,
  Transform,
  Trainable,
  TrainOptions,
  TrainResult,
  LogRow,
} from "./train";
export {
  halfSumSquaredError,
  sumSquaredError,
  meanSquaredError,
  meanAbsoluteError,
  crossEntropy,
  reconstructionLoss,
  classificationLoss,
} from "./losses";
export type { LossFn, LossResult, StepContext, Forward, ErrorFn, ConfiguredLoss } from "./losses";
export { saveCheckpoint, loadCheckpoint, checkpointFolder } from "./checkpoint";
export type { Checkpointable } from "./checkpoint";
export { CheckpointError } from "./checkpoint-manifest";
export type { TrainingLogs } from "./checkpoint-manifest";
export { checkpointHash, canonicalJson } from "./key";
export type { CheckpointKey, Json } from "./key";
export { trainOrLoad } from "./train-or-load";
export type { TrainOrLoadOptions, TrainOrLoadResult } from "./train-or-load";
