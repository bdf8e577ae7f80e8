/**
 * Lecture 7.1's plain-TypeScript views of convolutions, slow and obvious on purpose:
 * convolutions as inner products and transposed convolutions as sums of translated kernels,
 * the banded matrix M and its transpose, coverage maps, and transposed convolutions laid out
 * term by term. `import * as R from "dlc7/nn/reference"`; tests check `F.*` against them.
 */
export {
  conv1dReference,
  conv2dReference,
  convTranspose1dReference,
  convTranspose2dReference,
  type Signal1d,
  type Signal2d,
} from "./reference";
export { convMatrix, matVec, transpose } from "./matrix";
export { coverageMap, type CoverageOptions } from "./coverage";
export { transposedConvTerms, type TransposedConvTerms } from "./decomposition";
