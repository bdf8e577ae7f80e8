/**
 * torch.nn for the lecture, on tfjs, in PyTorch's layout: `import * as nn from "dlc7/nn"`.
 * Modules take and return [N, C, H, W] (or [N, C, W], [N, F]), hold weights in PyTorch's
 * shapes and names, print PyTorch's repr, and load PyTorch state dicts (safetensors).
 * The functional forms are in "dlc7/nn/functional", the 7.1 references in "dlc7/nn/reference".
 */
export { Module, type StateDict } from "./module";
export { Conv2d, ConvTranspose1d, ConvTranspose2d } from "./modules/conv";
export { Linear } from "./modules/linear";
export { ReLU, Sigmoid, Tanh } from "./modules/activation";
export { MaxPool2d, Upsample } from "./modules/pooling";
export { Flatten, Unflatten } from "./modules/shape";
export { Sequential } from "./modules/sequential";
export { SkipConcat } from "./modules/skip";
export { encodeSafetensors, decodeSafetensors } from "./safetensors";
export { torchString } from "./print";
