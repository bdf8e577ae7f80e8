/**
 * The one place the benchmarks touch lib/models: the models they train (7.2's autoencoder,
 * 7.3's U-Net at the paper's 48 channels, 7.4's VAE), each with its input shape and its
 * training loss (a change of the models' API changes this file only). bench/torch_reference.py
 * trains the same three in PyTorch.
 */
import * as tf from "@tensorflow/tfjs";
import { AutoEncoder, UNet, VAE, vaeLoss } from "../lib/models";
import { halfSumSquaredError, meanSquaredError } from "../lib/training/losses";

export type BenchModelName = "autoencoder" | "unet" | "vae";

export const BENCH_MODELS: readonly BenchModelName[] = ["autoencoder", "unet", "vae"];

export interface BenchModel {
  /** Shape of a batch of n MNIST images as the model takes them. */
  inputShape(n: number): number[];
  /** The model's training loss on a batch x (its own target). */
  loss(x: tf.Tensor): tf.Scalar;
  parameters: tf.Variable[];
  dispose(): void;
}

/** AutoEncoder(nb_channels = 32, embedding_dim = d); loss 0.5 * sum((x - g(f(x)))^2) / N. */
export function lectureAutoencoder(d: number): BenchModel {
  const model = new AutoEncoder({ nbChannels: 32, embeddingDim: d });
  return {
    inputShape: (n) => [n, 1, 28, 28],
    loss: (x) => halfSumSquaredError(model.forward(x as tf.Tensor4D), x),
    parameters: model.parameters(),
    dispose: () => model.dispose(),
  };
}

/** 7.3's U-Net with Lehtinen et al.'s 48 channels; loss: the mean squared error to x. */
function unet(): BenchModel {
  const model = new UNet({ channels: 48 });
  return {
    inputShape: (n) => [n, 1, 28, 28],
    loss: (x) => meanSquaredError(model.forward(x as tf.Tensor4D), x),
    parameters: model.parameters(),
    dispose: () => model.dispose(),
  };
}

/** 7.4's VAE at d = 32; loss: the lecture's kl_loss + fit_loss (one fixed draw of eps). */
function vae(): BenchModel {
  const model = new VAE({ nbChannels: 32, embeddingDim: 32 });
  const loss = vaeLoss();
  const ctx = { training: true, seed: () => 7, epoch: 1, step: 1 };
  return {
    inputShape: (n) => [n, 1, 28, 28],
    loss: (x) => loss(model, x, x, ctx).loss,
    parameters: model.parameters(),
    dispose: () => model.dispose(),
  };
}

export function benchModel(name: BenchModelName): BenchModel {
  switch (name) {
    case "autoencoder":
      return lectureAutoencoder(8);
    case "unet":
      return unet();
    case "vae":
      return vae();
  }
}
