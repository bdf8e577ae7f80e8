/**
 * The models of the lecture, as definitions (training them is in lib/experiments and the
 * notebooks): `import { AutoEncoder, PCA } from "dlc7/models"`.
 */
export { type Codec, encodeAll, decodeAll, reconstructAll } from "./codec";
export { type ModelConfig, type ConfiguredModule } from "./config";
export { EncoderDecoder } from "./encoder-decoder";
export {
  AutoEncoder,
  lectureEncoder,
  lectureDecoder,
  type AutoEncoderOptions,
  type StackOptions,
} from "./autoencoder";
export { MNISTUpscaler, type MNISTUpscalerOptions } from "./upscaler";
export {
  VAE,
  activeUnits,
  vaeKl,
  reparameterize,
  splitMuLogvar,
  vaeLoss,
  type KlTerm,
  type VAEOptions,
  type VaeLossOptions,
  type VariationalCodec,
  type Posterior,
} from "./vae";
export { UNet, type UNetOptions, type UNetRow } from "./unet";
export { MLP, type MLPOptions, type Activation } from "./mlp";
export { FCAutoEncoder, type FCAutoEncoderOptions } from "./fc-autoencoder";
export { MnistClassifier, type ClassifierOptions } from "./classifier";
export { PCA, type PCAFitOptions } from "./pca";
export {
  latentInterpolation,
  alphaSteps,
  gaussianFit,
  sampleGaussian,
  type DiagonalGaussian,
} from "./latent";
export { latentTraversal, type DecodeCodes } from "./traversal";
export { formatSizeTable, traceModule, sizeLabel, type LayerRow } from "./summary";
