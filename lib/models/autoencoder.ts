/**
 * The lecture's convolutional autoencoder (7.2), and the encoder and decoder stacks it (7.4's
 * VAE, with 2d encoder outputs, and 7.3's upscaler, with the decoder) is built from. Sizes in
 * comments are C x H x W, as in the lecture.
 */
import { Rng } from "../random";
import { settings } from "../settings";
import { ReLU } from "../nn/modules/activation";
import { Conv2d, ConvTranspose2d } from "../nn/modules/conv";
import { Sequential } from "../nn/modules/sequential";
import { type ModelConfig, positiveInt } from "./config";
import { EncoderDecoder } from "./encoder-decoder";

export interface StackOptions {
  /** Width of the hidden layers (the lecture's nb_channels, 32). */
  nbChannels?: number;
  /** Initialisation stream. */
  rng?: Rng;
}

/**
 * The 7.2 encoder f: C x 28 x 28 -> outChannels x 1 x 1.
 * For a VAE, outChannels = 2d (mu and logvar).
 */
export function lectureEncoder(
  options: StackOptions & { inChannels?: number; outChannels: number },
): Sequential {
  const c = positiveInt("nbChannels", options.nbChannels ?? 32);
  const inC = positiveInt("inChannels", options.inChannels ?? 1);
  const out = positiveInt("encoder outChannels", options.outChannels);
  const rng = options.rng;
  return new Sequential(
    new Conv2d(inC, c, 5, { rng }), //              1 x 28 x 28 -> 32 x 24 x 24
    new ReLU(),
    new Conv2d(c, c, 5, { rng }), //                32 x 24 x 24 -> 32 x 20 x 20
    new ReLU(),
    new Conv2d(c, c, 4, { stride: 2, rng }), //     32 x 20 x 20 -> 32 x 9 x 9
    new ReLU(),
    new Conv2d(c, c, 3, { stride: 2, rng }), //     32 x 9 x 9 -> 32 x 4 x 4
    new ReLU(),
    new Conv2d(c, out, 4, { rng }), //              32 x 4 x 4 -> d x 1 x 1
  );
}

/** The 7.2 decoder g: inChannels x 1 x 1 -> outChannels x 28 x 28 (the mirror of the encoder). */
export function lectureDecoder(
  options: StackOptions & { inChannels: number; outChannels?: number },
): Sequential {
  const c = positiveInt("nbChannels", options.nbChannels ?? 32);
  const inC = positiveInt("decoder inChannels", options.inChannels);
  const out = positiveInt("outChannels", options.outChannels ?? 1);
  const rng = options.rng;
  return new Sequential(
    new ConvTranspose2d(inC, c, 4, { rng }), //           d x 1 x 1 -> 32 x 4 x 4
    new ReLU(),
    new ConvTranspose2d(c, c, 3, { stride: 2, rng }), //  32 x 4 x 4 -> 32 x 9 x 9
    new ReLU(),
    new ConvTranspose2d(c, c, 4, { stride: 2, rng }), //  32 x 9 x 9 -> 32 x 20 x 20
    new ReLU(),
    new ConvTranspose2d(c, c, 5, { rng }), //             32 x 20 x 20 -> 32 x 24 x 24
    new ReLU(),
    new ConvTranspose2d(c, out, 5, { rng }), //           32 x 24 x 24 -> 1 x 28 x 28
  );
}

export interface AutoEncoderOptions {
  /** The lecture's nb_channels (default 32). */
  nbChannels?: number;
  /** d, the latent dimension. */
  embeddingDim: number;
  /** Initialisation seed (default settings.seed). */
  seed?: number;
}

/** The lecture's AutoEncoder(nb_channels, embedding_dim) on 1 x 28 x 28 images (7.2). */
export class AutoEncoder extends EncoderDecoder {
  readonly embeddingDim: number;

  constructor(options: AutoEncoderOptions) {
    const nbChannels = positiveInt("AutoEncoder nbChannels", options.nbChannels ?? 32);
    const d = positiveInt("AutoEncoder embeddingDim", options.embeddingDim);
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("AutoEncoder/init", seed);
    const config: ModelConfig = { model: "AutoEncoder", nbChannels, embeddingDim: d, seed };
    super(
      "AutoEncoder",
      lectureEncoder({ nbChannels, outChannels: d, rng }),
      lectureDecoder({ nbChannels, inChannels: d, rng }),
      [1, 28, 28],
      config,
    );
    this.embeddingDim = d;
  }
}
