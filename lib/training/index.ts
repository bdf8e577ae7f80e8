/** The training loop, losses and checkpoints shared by every notebook. */
export { train, evaluate, logFrame } from "./train";
export { Interrupted, cellInterrupted, watchInterrupts, type InterruptWatch } from "./interrupt";
export type {
  TrainingData,
  Transform,
  Trainable,
  TrainOptions,
  TrainResult,
  EvaluateOptions,
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
