/**
 * The one-hidden-layer fully connected autoencoder of Vincent et al. (2010): C x H x W ->
 * h -> C x H x W with sigmoid units. Its first-layer weights, one row per hidden unit, are
 * the filters their figures show; stacked, its encoders initialise a deep network.
 */
import * as tf from "@tensorflow/tfjs";
import { Sigmoid } from "../nn/modules/activation";
import { Linear } from "../nn/modules/linear";
import { Sequential } from "../nn/modules/sequential";
import { Flatten, Unflatten } from "../nn/modules/shape";
import { Rng } from "../random";
import { settings } from "../settings";
import { positiveInt } from "./config";
import { EncoderDecoder } from "./encoder-decoder";

export interface FCAutoEncoderOptions {
  /** C x H x W of the inputs (default 1 x 28 x 28; codes of a lower layer: [F, 1, 1]). */
  inputSize?: readonly [number, number, number];
  /** h, the number of hidden units. */
  hidden: number;
  /** Initialisation seed (default settings.seed). */
  seed?: number;
}

/** f(x) = sigmoid(W x + b) as codes [N, h, 1, 1]; g(z) = sigmoid(W' z + b') as images. */
export class FCAutoEncoder extends EncoderDecoder {
  readonly hidden: number;
  /** W: [h, C * H * W] (PyTorch's Linear weight). */
  readonly encoderLinear: Linear;

  constructor(options: FCAutoEncoderOptions) {
    const size = options.inputSize ?? [1, 28, 28];
    size.forEach((n) => positiveInt("FCAutoEncoder inputSize", n));
    const h = positiveInt("FCAutoEncoder hidden", options.hidden);
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("FCAutoEncoder/init", seed);
    const features = size[0] * size[1] * size[2];
    const encoderLinear = new Linear(features, h, { rng });
    super(
      "FCAutoEncoder",
      new Sequential(new Flatten(), encoderLinear, new Sigmoid(), new Unflatten([h, 1, 1])),
      new Sequential(
        new Flatten(),
        new Linear(h, features, { rng }),
        new Sigmoid(),
        new Unflatten([...size]),
      ),
      [...size],
      { model: "FCAutoEncoder", inputSize: size.join("x"), hidden: h, seed },
    );
    this.hidden = h;
    this.encoderLinear = encoderLinear;
  }

  /** The first-layer filters as images [h, C, H, W]: row k of W is unit k's filter. */
  filters(): tf.Tensor4D {
    const [c, hh, w] = this.inputSize;
    return tf.reshape(this.encoderLinear.weight, [this.hidden, c, hh, w]);
  }
}
