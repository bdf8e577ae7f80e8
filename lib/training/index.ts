/** The training loop, losses and checkpoints shared by every notebook. */
export { train, logFrame } from "./train";
export { evaluate, type EvaluateOptions } from "./evaluate";
export { Interrupted, cellInterrupted, watchInterrupts, type InterruptWatch } from "./interrupt";
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
export type {
  LossFn,
  LossResult,
  StepContext,
  Forward,
  ErrorFn,
  ConfiguredLoss,
} from "./losses";
export {
  saveCheckpoint,
  loadCheckpoint,
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
  TrainingLogs,
  TrainOrLoadOptions,
  TrainOrLoadResult,
} from "./checkpoint";
