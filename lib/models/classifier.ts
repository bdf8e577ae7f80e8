/**
 * A small MNIST CNN classifier, used as a measuring instrument: the fraction of
 * reconstructions it still labels with the original class ("digit kept"), and its
 * confidence on decoded samples against on real images.
 */
import * as tf from "@tensorflow/tfjs";
import { INFERENCE_BATCH, forEachBatch, mapBatches } from "../data/batches";
import { Module } from "../nn/module";
import { ReLU } from "../nn/modules/activation";
import { Conv2d } from "../nn/modules/conv";
import { Linear } from "../nn/modules/linear";
import { MaxPool2d } from "../nn/modules/pooling";
import { Sequential } from "../nn/modules/sequential";
import { Flatten } from "../nn/modules/shape";
import { Rng } from "../random";
import { settings } from "../settings";
import type { ConfiguredModule, ModelConfig } from "./config";

export interface ClassifierOptions {
  /** Channels of the first conv (the second has twice as many); default 16. */
  nbChannels?: number;
  /** Hidden units of the fully connected layer; default 128. */
  nbHidden?: number;
  /** Default 10. */
  nbClasses?: number;
  seed?: number;
}

function checkImages(x: tf.Tensor): tf.Tensor {
  if (x.rank !== 4 || x.shape[1] !== 1 || x.shape[2] !== 28 || x.shape[3] !== 28) {
    throw new Error(`MnistClassifier: expected images [N, 1, 28, 28], got [${x.shape.join(", ")}]`);
  }
  return x;
}

/** Images [N, 1, 28, 28] -> logits [N, classes]. */
export class MnistClassifier extends Module implements ConfiguredModule {
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
      new Conv2d(1, c, 5, { rng }), //      1 x 28 x 28 -> c x 24 x 24
      new ReLU(),
      new MaxPool2d(2), //                  c x 24 x 24 -> c x 12 x 12
      new Conv2d(c, 2 * c, 5, { rng }), //  c x 12 x 12 -> 2c x 8 x 8
      new ReLU(),
      new MaxPool2d(2), //                  2c x 8 x 8 -> 2c x 4 x 4
      new Flatten(), //                     2c x 4 x 4 -> 32c
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
    return this.net.forward(checkImages(x)) as tf.Tensor2D;
  }

  /**
   * The penultimate layer [N, hidden] (the fully connected layer after its ReLU): the features
   * in which 7.4 compares decoded samples with real images (a Fréchet distance).
   */
  features(images: tf.Tensor4D, batchSize = INFERENCE_BATCH): tf.Tensor2D {
    const trunk = new Sequential(...this.net.layers.slice(0, -1));
    return mapBatches(images, batchSize, (b) => trunk.forward(checkImages(b)) as tf.Tensor2D);
  }

  /** Class probabilities [N, classes] (softmax), computed in batches; the caller disposes. */
  probabilities(images: tf.Tensor4D, batchSize = INFERENCE_BATCH): tf.Tensor2D {
    return mapBatches(images, batchSize, (b) => tf.softmax(this.forward(b)));
  }

  /**
   * The one reading of images: for each, its most probable class and that class's
   * probability (the confidence), in one pass by batches.
   */
  read(images: tf.Tensor4D, batchSize = INFERENCE_BATCH): Reading {
    const n = images.shape[0];
    const reading: Reading = { labels: new Int32Array(n), confidence: new Float32Array(n) };
    forEachBatch([images], batchSize, ([b], start) => {
      const p = tf.softmax(this.forward(b));
      reading.labels.set(tf.argMax(p, 1).dataSync(), start);
      reading.confidence.set(tf.max(p, 1).dataSync(), start);
    });
    return reading;
  }

  /** The most probable class of each image (read's labels). */
  predict(images: tf.Tensor4D, batchSize = INFERENCE_BATCH): Int32Array {
    return this.read(images, batchSize).labels;
  }
}

/** What a classifier reads in images: a class and its probability per image. */
export interface Reading {
  labels: Int32Array;
  confidence: Float32Array;
}

/** Anything that reads images (a MnistClassifier): what the reconstruction report takes. */
export interface ImageReader {
  read(images: tf.Tensor4D, batchSize?: number): Reading;
}
