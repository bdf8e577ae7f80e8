/**
 * 7.3's super-resolution model, as the lecture prints it: an encoder of stride-1 convolutions
 * takes a 1 x 14 x 14 image (the original average-pooled 2 x 2) down to 32 x 1 x 1, and 7.2's
 * decoder brings it up to 1 x 28 x 28. Sizes in comments are C x H x W.
 */
import { Rng } from "../random";
import { settings } from "../settings";
import { ReLU } from "../nn/modules/activation";
import { Conv2d } from "../nn/modules/conv";
import { Sequential } from "../nn/modules/sequential";
import { type StackOptions, lectureDecoder } from "./autoencoder";
import { positiveInt } from "./config";
import { EncoderDecoder } from "./encoder-decoder";

/** The encoder: 1 x 14 x 14 -> outChannels x 1 x 1, all strides 1. */
function upscalerEncoder(
  options: StackOptions & { inChannels?: number; outChannels?: number } = {},
): Sequential {
  const c = positiveInt("nbChannels", options.nbChannels ?? 32);
  const inC = positiveInt("inChannels", options.inChannels ?? 1);
  const out = positiveInt("outChannels", options.outChannels ?? c);
  const rng = options.rng;
  return new Sequential(
    new Conv2d(inC, c, 5, { rng }), //  1 x 14 x 14 -> 32 x 10 x 10
    new ReLU(),
    new Conv2d(c, c, 5, { rng }), //    32 x 10 x 10 -> 32 x 6 x 6
    new ReLU(),
    new Conv2d(c, c, 4, { rng }), //    32 x 6 x 6 -> 32 x 3 x 3
    new ReLU(),
    new Conv2d(c, out, 3, { rng }), //  32 x 3 x 3 -> 32 x 1 x 1
  );
}

export interface MNISTUpscalerOptions {
  nbChannels?: number;
  seed?: number;
}

/** 7.3's super-resolution model: 1 x 14 x 14 -> 1 x 28 x 28 through a 32 x 1 x 1 code. */
export class MNISTUpscaler extends EncoderDecoder {
  constructor(options: MNISTUpscalerOptions = {}) {
    const nbChannels = positiveInt("MNISTUpscaler nbChannels", options.nbChannels ?? 32);
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("MNISTUpscaler/init", seed);
    super(
      "MNISTUpscaler",
      upscalerEncoder({ nbChannels, rng }),
      lectureDecoder({ nbChannels, inChannels: nbChannels, rng }),
      [1, 14, 14],
      { model: "MNISTUpscaler", nbChannels, seed },
    );
  }
}
