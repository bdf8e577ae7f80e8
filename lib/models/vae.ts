/**
 * Lecture 7.4's variational autoencoder, and everything that is the VAE's own: the split of
 * the encoder's output into mu and logvar, the KL term, the re-parameterization trick and the
 * lecture's loss. The model is the 7.2 autoencoder whose encoder outputs 2d channels, param_f,
 * split on dim 1 into mu_f and logvar_f as the lecture's `param_f.split(param_f.size(1)//2, 1)`.
 * Training samples z = mu + exp(logvar / 2) * eps (vaeLoss); inference uses mu, as the lecture
 * says: encode gives mu and forward decodes it, so the VAE is a Codec like the autoencoder.
 */
import * as tf from "@tensorflow/tfjs";
import { INFERENCE_BATCH, forEachBatch } from "../data/batches";
import { Rng } from "../random";
import { settings } from "../settings";
import { configured } from "../training/key";
import { type ConfiguredLoss, type LossFn, halfSumSquaredError } from "../training/losses";
import { lectureDecoder, lectureEncoder } from "./autoencoder";
import { type ModelConfig, positiveInt } from "./config";
import { EncoderDecoder } from "./encoder-decoder";

/** mu_f, logvar_f = param_f.split(param_f.size(1) // 2, 1): [N, 2d, ...] -> two [N, d, ...]. */
export function splitMuLogvar(param: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const c = param.shape[1];
  if (c % 2 !== 0) {
    throw new Error(`splitMuLogvar: the encoder must output 2d channels (mu and logvar), got ${c}`);
  }
  return tf.split(param, 2, 1) as [tf.Tensor4D, tf.Tensor4D];
}

/** The KL term of a batch: its total, and its share on each latent dimension. */
export interface KlTerm {
  /** kl_loss = kl.sum() / N: D_KL(N(mu, diag(sigma^2)) || N(0, I)) averaged over the batch. */
  total: tf.Scalar;
  /** kl summed over every axis but dim 1, / N: [d], summing to total (the active units). */
  perDimension: tf.Tensor1D;
}

/**
 * 7.4: kl = -0.5 * (1 + logvar_f - mu_f.pow(2) - logvar_f.exp()), element by element, as the
 * total the loss takes and per latent dimension (an active unit has more than 0.01 nat).
 */
export function vaeKl(muF: tf.Tensor, logvarF: tf.Tensor): KlTerm {
  if (!tf.util.arraysEqual(muF.shape, logvarF.shape) || muF.rank < 2) {
    throw new Error(
      `vaeKl: mu_f and logvar_f must have the same shape [N, d, ...], got [${muF.shape.join(", ")}] and [${logvarF.shape.join(", ")}]`,
    );
  }
  const n = muF.shape[0];
  return tf.tidy(() => {
    const kl = tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, logvarF), tf.square(muF)), tf.exp(logvarF)));
    const others = muF.shape.map((_, i) => i).filter((i) => i !== 1);
    const perDimension = tf.div(tf.sum(kl, others), n) as tf.Tensor1D;
    return { total: tf.sum(perDimension) as tf.Scalar, perDimension };
  });
}

/** 7.4: z = randn_like(mu_f) * exp(0.5 * logvar_f) + mu_f (the re-parameterization trick). */
export function reparameterize(muF: tf.Tensor4D, logvarF: tf.Tensor4D, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const std = tf.exp(tf.mul(0.5, logvarF));
    return tf.add(tf.mul(tf.randomNormal(muF.shape, 0, 1, "float32", seed), std), muF);
  });
}

/**
 * The active units (Burda et al., 2016): the dimensions whose KL on the test set exceeds
 * `threshold` nat (0.01). A dimension whose posterior never leaves the prior carries no
 * information. (Burda et al. apply the same 0.01 to the variance of mu over the data, std^2
 * in latentStatistics; both counts agree on a collapsed dimension.)
 */
export function activeUnits(klPerDimension: ArrayLike<number>, threshold = 0.01): number[] {
  if (!Number.isFinite(threshold)) throw new Error(`activeUnits: threshold is ${threshold}`);
  const out: number[] = [];
  for (let j = 0; j < klPerDimension.length; j++) {
    const v = klPerDimension[j]!;
    if (Number.isNaN(v)) throw new Error(`activeUnits: dimension ${j} is NaN`);
    if (v > threshold) out.push(j);
  }
  return out;
}

/** What the VAE loss needs: the encoder's raw output param_f, and the decoder. */
export interface VariationalCodec {
  /** param_f = encoder(x): [N, 2d, 1, 1], mu then logvar on dim 1. */
  encodeParams(x: tf.Tensor4D): tf.Tensor4D;
  decode(z: tf.Tensor4D): tf.Tensor4D;
}

export interface VaeLossOptions {
  /** Weight of the KL term (beta-VAE, Higgins et al. 2017); default 1. */
  beta?: number;
}

/**
 * 7.4's loss, exactly the lecture's code: param_f = encode(input), split into mu_f and
 * logvar_f, kl_loss, z sampled by re-parameterization, fit_loss = 0.5 * sum((decode(z) -
 * input)^2) / N, loss = beta * kl_loss + fit_loss. Logs `kl` and `fit` separately.
 */
export function vaeLoss(options: VaeLossOptions = {}): ConfiguredLoss<VariationalCodec> {
  const beta = options.beta ?? 1;
  if (!Number.isFinite(beta) || beta < 0) {
    throw new Error(`vaeLoss: beta must be >= 0, got ${beta}`);
  }
  const fn: LossFn<VariationalCodec> = (model, input, target, ctx) => {
    const [muF, logvarF] = splitMuLogvar(model.encodeParams(input as tf.Tensor4D));
    const kl = vaeKl(muF, logvarF).total;
    const z = reparameterize(muF, logvarF, ctx.seed());
    const fit = halfSumSquaredError(model.decode(z), target);
    const loss = beta === 1 ? tf.add(kl, fit) : tf.add(tf.mul(beta, kl), fit);
    return { loss: loss as tf.Scalar, terms: { kl, fit } };
  };
  return configured(fn, { loss: "vae", beta });
}

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

  /** z = mu + sigma eps for images [N, 1, 28, 28]: a sample of q(Z | X = x) per image. */
  sample(x: tf.Tensor4D, seed: number): tf.Tensor4D {
    return tf.tidy(() => {
      const { mu, logvar } = this.posterior(x);
      return reparameterize(mu, logvar, seed);
    });
  }

  /**
   * The KL of each latent dimension, averaged over `images` (by batches): the numbers the
   * active units are read from (a dimension above 0.01 nat carries information).
   */
  klPerDimension(images: tf.Tensor4D, batchSize = INFERENCE_BATCH): number[] {
    const sum = new Float64Array(this.embeddingDim);
    forEachBatch([images], batchSize, ([x]) => {
      const { mu, logvar } = this.posterior(x);
      const per = vaeKl(mu, logvar).perDimension.dataSync();
      const n = x.shape[0];
      per.forEach((v, j) => (sum[j] = sum[j]! + v * n));
    });
    return Array.from(sum, (v) => v / images.shape[0]);
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
