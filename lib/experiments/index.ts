/**
 * Experiments that more than one notebook runs, in one place so that they share their
 * checkpoints: 7.2's autoencoders (7.4 compares its VAE with the d = 32 one) and the
 * classifier that measures reconstructions and samples (7.2, 7.3, 7.4).
 */
import { agreement } from "../metrics/classification";
import { AutoEncoder } from "../models/autoencoder";
import { MnistClassifier } from "../models/classifier";
import type { NotebookContext, Trained } from "../notebook";
import {
  classificationLoss,
  halfSumSquaredError,
  meanSquaredError,
  reconstructionLoss,
} from "../training/losses";

/**
 * The lecture's autoencoder with embedding dimension d, trained as lecture 7.2 trains it:
 * Adam 1e-3, batches of 100, the loss 0.5 * sum((x - g(f(x)))^2) / N, 2 epochs (of quick
 * mode's 10,000 images there); the test MSE per pixel is logged beside the loss as "mse".
 */
export async function lectureAutoencoder(
  nb: NotebookContext,
  d: number,
): Promise<Trained<AutoEncoder>> {
  return nb.trainOrLoad({
    name: `ae-d${d}`,
    model: (seed) => new AutoEncoder({ embeddingDim: d, seed }),
    loss: reconstructionLoss(halfSumSquaredError, { mse: meanSquaredError }),
    train: await nb.data("train"),
    test: await nb.data("test"),
    epochs: 2,
    label: `AE d=${d}`,
  });
}

/** A trained classifier and its error rate on the test set. */
export interface MeasuringClassifier extends Trained<MnistClassifier> {
  testError: number;
}

/**
 * The small CNN classifier used as a measuring instrument (cross-entropy, Adam 1e-3,
 * 3 epochs; 2 of quick mode's 10,000 images, enough for about 95% right), with its test
 * error.
 */
export async function measuringClassifier(nb: NotebookContext): Promise<MeasuringClassifier> {
  const test = await nb.data("test");
  const trained = await nb.trainOrLoad({
    name: "classifier",
    model: (seed) => new MnistClassifier({ seed }),
    loss: classificationLoss(),
    train: await nb.data("train"),
    test,
    targets: "labels",
    epochs: nb.quick ? 2 : 3,
    label: "classifier",
  });
  const testError = 1 - agreement(trained.model.read(test.images).labels, test.labels);
  return { ...trained, testError };
}
