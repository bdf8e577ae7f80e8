/**
 * A small torch.nn.functional on tfjs, with PyTorch's argument semantics and layouts,
 * for lecture 7.1 (transposed convolutions). `import { conv1d } from "dlc7/functional"`.
 */
export { conv1d, conv2d, convTranspose1d, convTranspose2d } from "./conv";
export { coverageMap, type CoverageOptions } from "./coverage";
export { transposedConvTerms, type TransposedConvTerms } from "./decomposition";
export {
  interpolate,
  linearSourceCoordinate,
  nearestSourceIndex,
  resamplingMatrix,
  type InterpolateOptions,
} from "./interpolate";
export { convMatrix, matVec, transpose } from "./matrix";
export { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, type ModuleInit } from "./modules";
export { avgPool2d, type AvgPool2dOptions } from "./pool";
export { torchString } from "./print";
export {
  conv1dReference,
  conv2dReference,
  convTranspose1dReference,
  convTranspose2dReference,
  type Signal1d,
  type Signal2d,
} from "./reference";
export {
  convOutputSize,
  convTransposeOutputSize,
  type Conv1dOptions,
  type Conv2dOptions,
  type ConvTranspose1dOptions,
  type ConvTranspose2dOptions,
  type Pair,
} from "./shapes";
