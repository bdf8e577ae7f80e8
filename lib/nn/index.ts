/**
 * torch.nn for the lecture, on tfjs, in PyTorch's layout: `import * as nn from "dlc7/nn"`.
 * Modules take and return [N, C, H, W] (or [N, C, W], [N, F]), hold weights in PyTorch's
 * shapes and names, print PyTorch's repr, and load PyTorch state dicts (safetensors).
 * The functional forms are in "dlc7/nn/functional", the 7.1 references in "dlc7/nn/reference".
 */
export { Module, type StateDict } from "./module";
export { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d } from "./modules/conv";
export { Linear } from "./modules/linear";
export { type LayerInit, WeightedLayer } from "./modules/weighted";
export { ReLU, Sigmoid, Tanh } from "./modules/activation";
export { AvgPool2d, MaxPool2d, Upsample, type PoolOptions } from "./modules/pooling";
export { Flatten, Unflatten } from "./modules/shape";
export { Sequential } from "./modules/sequential";
export { SkipConcat } from "./modules/skip";
export {
  readStateDict,
  encodeSafetensors,
  decodeSafetensors,
  SafetensorsError,
} from "./safetensors";
export { torchString } from "./print";
export { pytorchBound, uniformVariable } from "./init";
