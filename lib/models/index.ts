/**
 * The models of the lecture, as definitions (training them is in lib/experiments and the
 * notebooks): `import { AutoEncoder, PCA } from "dlc7/models"`.
 */
export { type Codec, encodeAll, decodeAll, reconstructAll } from "./codec";
export { type ConfiguredModule } from "./config";
export { EncoderDecoder } from "./encoder-decoder";
export { AutoEncoder, lectureEncoder, lectureDecoder } from "./autoencoder";
export { MNISTUpscaler } from "./upscaler";
export { VAE, activeUnits, reparameterize, vaeLoss, type Posterior } from "./vae";
export { UNet } from "./unet";
export { MLP, type Activation } from "./mlp";
export { FCAutoEncoder } from "./fc-autoencoder";
export { MnistClassifier } from "./classifier";
export { PCA } from "./pca";
export { latentInterpolation, alphaSteps, gaussianFit, sampleGaussian } from "./latent";
export { latentTraversal, type DecodeCodes } from "./traversal";
