/** The training loop, losses and checkpoints shared by every notebook. */
export { train } from "./train";
export { evaluate } from "./evaluate";
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
  reconstructionLoss,
  classificationLoss,
} from "./losses";
export type { LossFn, LossResult, StepContext, Forward, ErrorFn, ConfiguredLoss } from "./losses";
export type { Checkpointable } from "./checkpoint";
export type { TrainingLogs } from "./checkpoint-manifest";
export { checkpointHash } from "./key";
export type { CheckpointKey, Json } from "./key";
export { trainOrLoad } from "./train-or-load";
export type { TrainOrLoadOptions, TrainOrLoadResult } from "./train-or-load";
