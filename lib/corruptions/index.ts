/** 7.3's corruptions, behind one interface: `import { PixelErasure } from "dlc7/corruptions"`. */
export { type Corruption, type ConfiguredTransform, corruptionTransform } from "./corruption";
export { Noise2Noise } from "./noise2noise";
export { PixelErasure } from "./erasure";
export { GaussianBlur } from "./blur";
export { BlockMasking } from "./block";
export { GaussianNoise, ImpulseNoise, SaltAndPepper } from "./noise";
export { Downscale } from "./downscale";
