/** The module system: PyTorch-like layers over tfjs (NHWC inside). */
export { Module, checkNhwc } from "./module";
export { Conv2d, ConvTranspose2d } from "./conv";
export type { Conv2dOptions, ConvTranspose2dOptions } from "./conv";
export { Linear } from "./linear";
export type { LinearOptions } from "./linear";
export { ReLU, Sigmoid, Tanh } from "./activation";
export { MaxPool2d, AvgPool2d, Upsample } from "./pooling";
export { Flatten, Unflatten } from "./shape";
export { Sequential } from "./sequential";
export { pytorchBound, uniformVariable, defaultInitRng } from "./init";
