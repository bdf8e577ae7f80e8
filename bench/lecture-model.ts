/**
 * The one place the benchmarks touch lib/models: the lecture's 7.2 autoencoder, its input
 * shape and its loss (a change of the models' API changes this file only).
 */
import * as tf from "@tensorflow/tfjs";
import { AutoEncoder } from "../lib/models";

export interface BenchModel {
  /** Shape of a batch of n MNIST images as the model takes them. */
  inputShape(n: number): number[];
  /** The lecture's loss 0.5 * sum((x - g(f(x)))^2) / N on a batch x. */
  loss(x: tf.Tensor): tf.Scalar;
  parameters: tf.Variable[];
  dispose(): void;
}

/** AutoEncoder(nb_channels = 32, embedding_dim = d), initialised from the run's seed. */
export function lectureAutoencoder(d: number): BenchModel {
  const model = new AutoEncoder({ nbChannels: 32, embeddingDim: d });
  return {
    inputShape: (n) => [n, 1, 28, 28],
    loss: (x) =>
      tf.mul(tf.sum(tf.square(tf.sub(x, model.forward(x as tf.Tensor4D)))), 0.5 / x.shape[0]!),
    parameters: model.parameters(),
    dispose: () => model.dispose(),
  };
}
