/**
 * The lecture's convolutional autoencoder (7.2), and the pieces 7.3 (denoising,
 * MNISTUpscaler) and 7.4 (VAE: an encoder with 2d output channels) build from.
 *
 * Tensors are NHWC: images [N, 28, 28, 1], codes [N, 1, 1, d]. Sizes in comments are
 * C x H x W, as in the lecture.
 */
import * as tf from "@tensorflow/tfjs";
import { ReLU } from "../layers/activation";
import { Conv2d, ConvTranspose2d } from "../layers/conv";
import { Module, checkNhwc } from "../layers/module";
import { Sequential } from "../layers/sequential";
import { Rng } from "../random";
import { settings } from "../settings";
import { LayerRow, formatSizeTable, traceSequential } from "./summary";

export interface StackOptions {
  /** Width of the hidden layers (the lecture's nb_channels, 32). */
  nbChannels?: number;
  /** Initialisation stream. */
  rng?: Rng;
}

function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${what} must be a positive integer, got ${n}`);
  return n;
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
    new Conv2d(inC, c, { kernelSize: 5, rng }), //           1 x 28 x 28 -> 32 x 24 x 24
    new ReLU(),
    new Conv2d(c, c, { kernelSize: 5, rng }), //             32 x 24 x 24 -> 32 x 20 x 20
    new ReLU(),
    new Conv2d(c, c, { kernelSize: 4, stride: 2, rng }), //  32 x 20 x 20 -> 32 x 9 x 9
    new ReLU(),
    new Conv2d(c, c, { kernelSize: 3, stride: 2, rng }), //  32 x 9 x 9 -> 32 x 4 x 4
    new ReLU(),
    new Conv2d(c, out, { kernelSize: 4, rng }), //           32 x 4 x 4 -> d x 1 x 1
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
    new ConvTranspose2d(inC, c, { kernelSize: 4, rng }), //           d x 1 x 1 -> 32 x 4 x 4
    new ReLU(),
    new ConvTranspose2d(c, c, { kernelSize: 3, stride: 2, rng }), //  32 x 4 x 4 -> 32 x 9 x 9
    new ReLU(),
    new ConvTranspose2d(c, c, { kernelSize: 4, stride: 2, rng }), //  32 x 9 x 9 -> 32 x 20 x 20
    new ReLU(),
    new ConvTranspose2d(c, c, { kernelSize: 5, rng }), //             32 x 20 x 20 -> 32 x 24 x 24
    new ReLU(),
    new ConvTranspose2d(c, out, { kernelSize: 5, rng }), //           32 x 24 x 24 -> 1 x 28 x 28
  );
}

/** The 7.3 super-resolution encoder: 1 x 14 x 14 -> outChannels x 1 x 1, all strides 1. */
export function upscalerEncoder(
  options: StackOptions & { inChannels?: number; outChannels?: number } = {},
): Sequential {
  const c = positiveInt("nbChannels", options.nbChannels ?? 32);
  const inC = positiveInt("inChannels", options.inChannels ?? 1);
  const out = positiveInt("outChannels", options.outChannels ?? c);
  const rng = options.rng;
  return new Sequential(
    new Conv2d(inC, c, { kernelSize: 5, rng }), //  1 x 14 x 14 -> 32 x 10 x 10
    new ReLU(),
    new Conv2d(c, c, { kernelSize: 5, rng }), //    32 x 10 x 10 -> 32 x 6 x 6
    new ReLU(),
    new Conv2d(c, c, { kernelSize: 4, rng }), //    32 x 6 x 6 -> 32 x 3 x 3
    new ReLU(),
    new Conv2d(c, out, { kernelSize: 3, rng }), //  32 x 3 x 3 -> 32 x 1 x 1
  );
}

/** Applies `fn` to slices of `batchSize` along the first axis and concatenates the results. */
export function inBatches(
  x: tf.Tensor4D,
  batchSize: number,
  fn: (batch: tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  positiveInt("batchSize", batchSize);
  const n = x.shape[0];
  if (n <= batchSize) return tf.tidy(() => fn(x));
  const parts: tf.Tensor4D[] = [];
  try {
    for (let s = 0; s < n; s += batchSize) {
      parts.push(
        tf.tidy(() => fn(tf.slice(x, [s, 0, 0, 0], [Math.min(batchSize, n - s), -1, -1, -1]))),
      );
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}

/** Plain-JSON description of a model, for checkpoint keys. */
export type ModelConfig = { [key: string]: string | number | boolean | null };

/**
 * An encoder f and a decoder g, each a Sequential: encode, decode, forward = g(f(x)),
 * printed as PyTorch prints a module with `encoder` and `decoder` children.
 */
export class EncoderDecoder extends Module {
  /** Input size C x H x W (NHWC tensors [N, H, W, C]). */
  readonly inputSize: [number, number, number];

  constructor(
    readonly name: string,
    readonly encoder: Sequential,
    readonly decoder: Sequential,
    inputSize: [number, number, number],
    /** What built this model, for checkpoint keys (include the seed). */
    readonly config: ModelConfig,
  ) {
    super();
    this.inputSize = inputSize;
  }

  override children(): Array<[string, Module]> {
    return [
      ["encoder", this.encoder],
      ["decoder", this.decoder],
    ];
  }

  /** f: [N, H, W, C] images -> [N, h, w, k] codes (for the lecture's AE, [N, 1, 1, d]). */
  encode(x: tf.Tensor4D): tf.Tensor4D {
    checkNhwc(`${this.name}.encode`, x, this.inputSize[0]);
    if (x.shape[1] !== this.inputSize[1] || x.shape[2] !== this.inputSize[2]) {
      throw new Error(
        `${this.name}.encode: expected images [N, ${this.inputSize[1]}, ${this.inputSize[2]}, ${this.inputSize[0]}] (NHWC), got [${x.shape.join(", ")}]`,
      );
    }
    return tf.tidy(() => this.encoder.forward(x) as tf.Tensor4D);
  }

  /** g: codes -> images. */
  decode(z: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decoder.forward(z) as tf.Tensor4D);
  }

  /** g(f(x)). */
  override forward(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => this.decode(this.encode(x as tf.Tensor4D)));
  }

  /** f on many images, `batchSize` at a time (a whole data set at once would need GBs). */
  encodeAll(x: tf.Tensor4D, batchSize = 500): tf.Tensor4D {
    return inBatches(x, batchSize, (b) => this.encode(b));
  }

  /** g on many codes, `batchSize` at a time. */
  decodeAll(z: tf.Tensor4D, batchSize = 500): tf.Tensor4D {
    return inBatches(z, batchSize, (b) => this.decode(b));
  }

  /** g(f(x)) on many images, `batchSize` at a time. */
  reconstruct(x: tf.Tensor4D, batchSize = 500): tf.Tensor4D {
    return inBatches(x, batchSize, (b) => this.forward(b));
  }

  /** Every layer of encoder then decoder with its input and output sizes. */
  summaryRows(): LayerRow[] {
    const enc = traceSequential(this.encoder, "encoder", this.inputSize);
    const last = enc[enc.length - 1] as LayerRow;
    const [, h, w] = last.output.split(" x ").map(Number) as [number, number, number];
    const first = this.decoder.layers[0] as Module & { inChannels?: number };
    const decInC = first.inChannels ?? Number(last.output.split(" x ")[0]);
    const dec = traceSequential(this.decoder, "decoder", [decInC, h, w]);
    return [...enc, ...dec];
  }

  /** The lecture's printout: PyTorch repr, size tables of encoder and decoder, parameter count. */
  summary(): string {
    const rows = this.summaryRows();
    return [
      this.describe(),
      "",
      formatSizeTable(
        "Encoder",
        rows.filter((r) => r.stage === "encoder"),
      ),
      "",
      formatSizeTable(
        "Decoder",
        rows.filter((r) => r.stage === "decoder"),
      ),
      "",
      `Parameters: ${this.parameterCount().toLocaleString("en-US")}`,
    ].join("\n");
  }
}

export interface AutoEncoderOptions {
  /** The lecture's nb_channels (default 32). */
  nbChannels?: number;
  /** d, the latent dimension. */
  embeddingDim: number;
  /** Initialisation seed (default settings.seed). */
  seed?: number;
}

/** What an AutoEncoder built with `options` is, for checkpoint keys (no model needed). */
export function autoEncoderConfig(options: AutoEncoderOptions): ModelConfig {
  return {
    model: "AutoEncoder",
    nbChannels: positiveInt("AutoEncoder nbChannels", options.nbChannels ?? 32),
    embeddingDim: positiveInt("AutoEncoder embeddingDim", options.embeddingDim),
    seed: options.seed ?? settings.seed,
  };
}

/** The lecture's AutoEncoder(nb_channels, embedding_dim) on 1 x 28 x 28 images (7.2). */
export class AutoEncoder extends EncoderDecoder {
  readonly embeddingDim: number;

  constructor(options: AutoEncoderOptions) {
    const config = autoEncoderConfig(options);
    const nbChannels = config.nbChannels as number;
    const d = config.embeddingDim as number;
    const rng = Rng.stream("AutoEncoder/init", config.seed as number);
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

export interface MNISTUpscalerOptions {
  nbChannels?: number;
  seed?: number;
}

/** 7.3's super-resolution model: 1 x 14 x 14 -> 1 x 28 x 28 through a 32 x 1 x 1 code. */
export class MNISTUpscaler extends EncoderDecoder {
  constructor(options: MNISTUpscalerOptions = {}) {
    const nbChannels = options.nbChannels ?? 32;
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
