/**
 * A small MNIST CNN classifier, used as a measuring instrument: the fraction of
 * reconstructions it still labels with the original digit ("digit kept"), and its
 * confidence on decoded samples against on real digits.
 */
import * as tf from "@tensorflow/tfjs";
import { ReLU } from "../layers/activation";
import { Conv2d } from "../layers/conv";
import { Linear } from "../layers/linear";
import { Module } from "../layers/module";
import { MaxPool2d } from "../layers/pooling";
import { Sequential } from "../layers/sequential";
import { Flatten } from "../layers/shape";
import { agreement } from "../metrics/classification";
import { Rng } from "../random";
import { settings } from "../settings";
import { trainOrLoad, type Json, type TrainOrLoadOptions } from "../training/checkpoint";
import { classificationLoss } from "../training/losses";
import { train } from "../training/train";
import type { ProgressMode } from "../viz/progress";
import type pl from "nodejs-polars";
import type { ModelConfig } from "./autoencoder";

/** Re-exported: the fraction of positions where two label arrays agree. */
export { agreement };

export interface ClassifierOptions {
  /** Channels of the first conv (the second has twice as many); default 16. */
  nbChannels?: number;
  /** Hidden units of the fully connected layer; default 128. */
  nbHidden?: number;
  /** Default 10. */
  nbClasses?: number;
  seed?: number;
}

/** Images [N, 28, 28, 1] -> logits [N, classes]. */
export class MnistClassifier extends Module {
  readonly name = "MnistClassifier";
  readonly net: Sequential;
  readonly nbClasses: number;
  readonly config: ModelConfig;

  constructor(options: ClassifierOptions = {}) {
    super();
    const c = options.nbChannels ?? 16;
    const hidden = options.nbHidden ?? 128;
    this.nbClasses = options.nbClasses ?? 10;
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("MnistClassifier/init", seed);
    this.net = new Sequential(
      new Conv2d(1, c, { kernelSize: 5, rng }), //      1 x 28 x 28 -> c x 24 x 24
      new ReLU(),
      new MaxPool2d(2), //                              c x 24 x 24 -> c x 12 x 12
      new Conv2d(c, 2 * c, { kernelSize: 5, rng }), //  c x 12 x 12 -> 2c x 8 x 8
      new ReLU(),
      new MaxPool2d(2), //                              2c x 8 x 8 -> 2c x 4 x 4
      new Flatten(), //                                 2c x 4 x 4 -> 32c
      new Linear(2 * c * 16, hidden, { rng }),
      new ReLU(),
      new Linear(hidden, this.nbClasses, { rng }),
    );
    this.config = {
      model: "MnistClassifier",
      nbChannels: c,
      nbHidden: hidden,
      nbClasses: this.nbClasses,
      seed,
    };
  }

  override children(): Array<[string, Module]> {
    return [["net", this.net]];
  }

  /** Logits [N, classes]. */
  override forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[1] !== 28 || x.shape[2] !== 28 || x.shape[3] !== 1) {
      throw new Error(
        `MnistClassifier: expected images [N, 28, 28, 1] (NHWC), got [${x.shape.join(", ")}]`,
      );
    }
    return this.net.forward(x) as tf.Tensor2D;
  }

  /** Class probabilities [N, classes] (softmax), computed in batches; the caller disposes. */
  probabilities(images: tf.Tensor4D, batchSize = 500): tf.Tensor2D {
    return tf.tidy(() => {
      const n = images.shape[0];
      const parts: tf.Tensor2D[] = [];
      for (let s = 0; s < n; s += batchSize) {
        const b = tf.slice(images, [s, 0, 0, 0], [Math.min(batchSize, n - s), -1, -1, -1]);
        parts.push(tf.softmax(this.forward(b)));
      }
      return parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0);
    });
  }

  /** The most probable class of each image. */
  predict(images: tf.Tensor4D, batchSize = 500): Int32Array {
    const labels = tf.tidy(() => tf.argMax(this.probabilities(images, batchSize), 1));
    const out = Int32Array.from(labels.dataSync());
    labels.dispose();
    return out;
  }

  /** The probability of the most probable class of each image (its confidence). */
  confidence(images: tf.Tensor4D, batchSize = 500): Float32Array {
    const top = tf.tidy(() => tf.max(this.probabilities(images, batchSize), 1));
    const out = Float32Array.from(top.dataSync());
    top.dispose();
    return out;
  }
}

/** Images with class labels (lib/data's Dataset fits). */
export interface LabelledImages {
  /** E.g. "mnist"; part of the checkpoint key. */
  name?: string;
  images: tf.Tensor4D;
  labels: Int32Array;
}

export interface ClassifierTrainingOptions extends TrainOrLoadOptions {
  /** Default 2. */
  epochs?: number;
  /** Default 100. */
  batchSize?: number;
  /** Default 1e-3. */
  learningRate?: number;
  /** Initialisation and shuffling seed (default settings.seed). */
  seed?: number;
  progress?: ProgressMode | false;
  classifier?: Omit<ClassifierOptions, "seed">;
}

export interface TrainedClassifier {
  model: MnistClassifier;
  log: pl.DataFrame;
  loaded: boolean;
  /** Error rate on `test` (NaN without a test set). */
  testError: number;
}

/**
 * The measuring instrument of the notebooks: trains the classifier once with the shared
 * loop (cross-entropy, Adam) and checkpoints it; later calls load it. The key holds the
 * data set's name and size, the seed and the training settings.
 */
export async function trainOrLoadClassifier(
  trainSet: LabelledImages,
  testSet: LabelledImages | undefined,
  options: ClassifierTrainingOptions = {},
): Promise<TrainedClassifier> {
  const seed = options.seed ?? settings.seed;
  const epochs = options.epochs ?? 2;
  const batchSize = options.batchSize ?? 100;
  const learningRate = options.learningRate ?? 1e-3;
  if (trainSet.images.shape[0] !== trainSet.labels.length) {
    throw new Error(
      `trainOrLoadClassifier: ${trainSet.images.shape[0]} images but ${trainSet.labels.length} labels`,
    );
  }
  const build = (): MnistClassifier => new MnistClassifier({ ...options.classifier, seed });
  const probe = build();
  const config = probe.config as Json;
  probe.dispose();
  const key = {
    name: "classifier",
    model: config,
    dataset: { name: trainSet.name ?? "unnamed", train: trainSet.labels.length },
    seed,
    training: { epochs, batchSize, learningRate },
  };
  const result = await trainOrLoad(
    key,
    build,
    async (model) => {
      const labels = tf.tensor1d(trainSet.labels, "int32");
      const testLabels = testSet ? tf.tensor1d(testSet.labels, "int32") : undefined;
      try {
        return await train({
          model,
          loss: classificationLoss(),
          train: { inputs: trainSet.images, targets: labels },
          test: testSet && testLabels ? { inputs: testSet.images, targets: testLabels } : undefined,
          epochs,
          batchSize,
          learningRate,
          seed,
          label: "classifier",
          progress: options.progress,
        });
      } finally {
        tf.dispose([labels, ...(testLabels ? [testLabels] : [])]);
      }
    },
    options,
  );
  const testError = testSet
    ? 1 - agreement(result.model.predict(testSet.images), testSet.labels)
    : NaN;
  return { model: result.model, log: result.log, loaded: result.loaded, testError };
}
