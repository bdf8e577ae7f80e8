/**
 * Lecture 7.4's variational autoencoder: the 7.2 autoencoder whose encoder outputs 2d channels,
 * param_f, split on dim 1 into mu_f and logvar_f as the lecture's
 * `param_f.split(param_f.size(1)//2, 1)`. Training samples z = mu + exp(logvar / 2) * eps
 * (vaeLoss in lib/training); inference uses mu, as the lecture says: encode gives mu and forward
 * decodes it, so the VAE is a Codec like the autoencoder and PCA.
 */
import * as tf from "@tensorflow/tfjs";
import type pl from "nodejs-polars";
import { Rng } from "../random";
import { settings } from "../settings";
import { splitMuLogvar, type VariationalCodec } from "../training/losses";
import { lectureDecoder, lectureEncoder } from "./autoencoder";
import { type ModelConfig, positiveInt } from "./config";
import { EncoderDecoder } from "./encoder-decoder";

export interface VAEOptions {
  /** The lecture's nb_channels (default 32). */
  nbChannels?: number;
  /** d, the latent dimension (the encoder outputs 2d channels). */
  embeddingDim: number;
  /** Initialisation seed (default settings.seed). */
  seed?: number;
}

/** The posterior q(Z | X = x) = N(mu, diag(exp(logvar))), each [N, d, 1, 1]. */
export interface Posterior {
  mu: tf.Tensor4D;
  logvar: tf.Tensor4D;
}

export class VAE extends EncoderDecoder implements VariationalCodec {
  readonly embeddingDim: number;

  constructor(options: VAEOptions) {
    const nbChannels = positiveInt("VAE nbChannels", options.nbChannels ?? 32);
    const d = positiveInt("VAE embeddingDim", options.embeddingDim);
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("VAE/init", seed);
    const config: ModelConfig = { model: "VAE", nbChannels, embeddingDim: d, seed };
    super(
      "VAE",
      lectureEncoder({ nbChannels, outChannels: 2 * d, rng }), // 1 x 28 x 28 -> 2d x 1 x 1
      lectureDecoder({ nbChannels, inChannels: d, rng }), //      d x 1 x 1 -> 1 x 28 x 28
      [1, 28, 28],
      config,
    );
    this.embeddingDim = d;
  }

  /** param_f = encoder(x): [N, 2d, 1, 1], mu_f then logvar_f on dim 1 (what vaeLoss takes). */
  encodeParams(x: tf.Tensor4D): tf.Tensor4D {
    return super.encode(x);
  }

  /** mu_f and logvar_f of images [N, 1, 28, 28]. */
  posterior(x: tf.Tensor4D): Posterior {
    const [mu, logvar] = tf.tidy(() => splitMuLogvar(this.encodeParams(x)));
    return { mu, logvar };
  }

  /** The code used at inference: mu_f [N, d, 1, 1]. */
  override encode(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.posterior(x).mu);
  }

  /** g(mu_f(x)): the reconstruction at inference, without sampling. */
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const param = this.encoder.forwardChannelsLast(x); // [N, 1, 1, 2d]
      const mu = tf.slice(param, [0, 0, 0, 0], [-1, -1, -1, this.embeddingDim]);
      return this.decoder.forwardChannelsLast(mu);
    });
  }
}

/**
 * The KL of each latent dimension on the test set after the last epoch, from a training log of
 * vaeLoss (its columns test_kl_0, test_kl_1, ...).
 */
export function loggedKlPerDimension(log: pl.DataFrame): number[] {
  const out: number[] = [];
  for (let j = 0; log.columns.includes(`test_kl_${j}`); j++) {
    out.push(log.getColumn(`test_kl_${j}`).toArray().at(-1) as number);
  }
  if (out.length === 0) {
    throw new Error(
      "loggedKlPerDimension: the log has no test_kl_0 column; train with vaeLoss and a test set",
    );
  }
  return out;
}
