/**
 * The losses of lecture 7, each as the lecture writes it, and the loss functions the
 * training loop takes (model, input, target -> named scalar terms).
 *
 * Tensors are in PyTorch's layout ([N, C, H, W]); "/ N" divides by the batch size, as
 * `input.size(0)`.
 */
import * as tf from "@tensorflow/tfjs";

/** What a loss function returns: the scalar to minimise and named terms to log. */
export interface LossResult {
  loss: tf.Scalar;
  /** Extra values logged per epoch on train and test (e.g. kl and fit), never differentiated. */
  terms?: Record<string, tf.Scalar>;
}

/** Where a loss or transform is called from, and a seeded source for its random draws. */
export interface StepContext {
  /** false while evaluating on the test set. */
  training: boolean;
  /** A fresh seed for a tfjs random op (tf.randomNormal(..., seed)). */
  seed(): number;
  /** 1-based epoch. */
  epoch: number;
  /** 1-based step within the epoch (the batch index when evaluating). */
  step: number;
}

/** A loss function for train(): called inside the gradient tape and inside tf.tidy. */
export type LossFn<M> = (
  model: M,
  input: tf.Tensor,
  target: tf.Tensor,
  ctx: StepContext,
) => LossResult;

/** Anything with forward(x). */
export interface Forward {
  forward(x: tf.Tensor): tf.Tensor;
}

/** What the VAE loss needs: the encoder's raw output param_f, and the decoder. */
export interface VariationalCodec {
  /** param_f = encoder(x): [N, 2d, 1, 1], mu then logvar on dim 1. */
  encodeParams(x: tf.Tensor4D): tf.Tensor4D;
  decode(z: tf.Tensor4D): tf.Tensor4D;
}

function checkSameShape(what: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((n, i) => n !== b.shape[i])) {
    throw new Error(
      `${what}: output [${a.shape.join(", ")}] and target [${b.shape.join(", ")}] must have the same shape`,
    );
  }
}

/**
 * 7.2: 0.5 * (output - input).pow(2).sum() / input.size(0), the empirical estimate of
 * E ||X - g(f(X))||^2 (up to the 1/2).
 */
export function halfSumSquaredError(output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  checkSameShape("halfSumSquaredError", output, target);
  return tf.tidy(() =>
    tf.div(tf.mul(0.5, tf.sum(tf.squaredDifference(output, target))), output.shape[0] ?? 1),
  );
}

/** 7.3 super-resolution: (output - original).pow(2).sum() / output.size(0). */
export function sumSquaredError(output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  checkSameShape("sumSquaredError", output, target);
  return tf.tidy(() => tf.div(tf.sum(tf.squaredDifference(output, target)), output.shape[0] ?? 1));
}

/** nn.MSELoss(): the mean of (output - target)^2 over every element (7.3's 2-d example). */
export function meanSquaredError(output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  checkSameShape("meanSquaredError", output, target);
  return tf.tidy(() => tf.mean(tf.squaredDifference(output, target)));
}

/** nn.L1Loss(): the mean of |output - target| (Noise2Noise: estimates the median). */
export function meanAbsoluteError(output: tf.Tensor, target: tf.Tensor): tf.Scalar {
  checkSameShape("meanAbsoluteError", output, target);
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(output, target))));
}

/** nn.CrossEntropyLoss(): mean over the batch of -log softmax(logits)[label]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  if (logits.rank !== 2 || labels.rank !== 1 || logits.shape[0] !== labels.shape[0]) {
    throw new Error(
      `crossEntropy: expected logits [N, K] and labels [N], got [${logits.shape.join(", ")}] and [${labels.shape.join(", ")}]`,
    );
  }
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.cast(labels, "int32"), logits.shape[1])), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** mu_f, logvar_f = param_f.split(param_f.size(1) // 2, 1): [N, 2d, ...] -> two [N, d, ...]. */
export function splitMuLogvar(param: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const c = param.shape[1];
  if (c % 2 !== 0) {
    throw new Error(`splitMuLogvar: the encoder must output 2d channels (mu and logvar), got ${c}`);
  }
  return tf.split(param, 2, 1) as [tf.Tensor4D, tf.Tensor4D];
}

/** 7.4: kl = -0.5 * (1 + logvar_f - mu_f.pow(2) - logvar_f.exp()), element by element. */
function klElements(muF: tf.Tensor, logvarF: tf.Tensor): tf.Tensor {
  return tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, logvarF), tf.square(muF)), tf.exp(logvarF)));
}

/**
 * 7.4: kl = -0.5 * (1 + logvar_f - mu_f.pow(2) - logvar_f.exp()); kl_loss = kl.sum() / N,
 * the closed form of D_KL(N(mu, diag(sigma^2)) || N(0, I)) averaged over the batch.
 */
export function vaeKl(muF: tf.Tensor, logvarF: tf.Tensor): tf.Scalar {
  checkSameShape("vaeKl", muF, logvarF);
  return tf.tidy(() => tf.div(tf.sum(klElements(muF, logvarF)), muF.shape[0] ?? 1));
}

/**
 * kl_loss split by latent dimension (dim 1): kl summed over every other axis, / N. Its entries
 * sum to vaeKl; a dimension above 0.01 nat on the test set is an active unit.
 */
export function vaeKlPerDimension(muF: tf.Tensor, logvarF: tf.Tensor): tf.Tensor1D {
  checkSameShape("vaeKlPerDimension", muF, logvarF);
  if (muF.rank < 2) {
    throw new Error(`vaeKlPerDimension: expected mu [N, d, ...], got [${muF.shape.join(", ")}]`);
  }
  const others = muF.shape.map((_, i) => i).filter((i) => i !== 1);
  return tf.tidy(() => tf.div(tf.sum(klElements(muF, logvarF), others), muF.shape[0] ?? 1));
}

/** 7.4: z = randn_like(mu_f) * exp(0.5 * logvar_f) + mu_f (the re-parameterization trick). */
export function reparameterize(muF: tf.Tensor4D, logvarF: tf.Tensor4D, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const std = tf.exp(tf.mul(0.5, logvarF));
    return tf.add(tf.mul(tf.randomNormal(muF.shape, 0, 1, "float32", seed), std), muF);
  });
}

/** An error between an output batch and a target batch. */
export type ErrorFn = (output: tf.Tensor, target: tf.Tensor) => tf.Scalar;

/**
 * `forward` then a reconstruction error: the loss of train() for plain and denoising AEs.
 * `logged` adds terms computed on the same output, e.g. { mse: meanSquaredError } to log
 * the test MSE per pixel next to the lecture's loss.
 */
export function reconstructionLoss(
  error: ErrorFn = halfSumSquaredError,
  logged: Record<string, ErrorFn> = {},
): LossFn<Forward> {
  return (model, input, target) => {
    const output = model.forward(input);
    const terms: Record<string, tf.Scalar> = {};
    for (const [name, fn] of Object.entries(logged)) terms[name] = fn(output, target);
    return { loss: error(output, target), terms };
  };
}

export interface VaeLossOptions {
  /** Weight of the KL term (beta-VAE, Higgins et al. 2017); default 1. */
  beta?: number;
}

/**
 * 7.4's loss, exactly the lecture's code: param_f = encode(input), split into mu_f and
 * logvar_f, kl_loss, z sampled by re-parameterization, fit_loss = 0.5 * sum((decode(z) -
 * input)^2) / N, loss = beta * kl_loss + fit_loss. Logs `kl` and `fit` separately, and on the
 * test set the KL of each latent dimension j as `kl_j` (the active units).
 */
export function vaeLoss(options: VaeLossOptions = {}): LossFn<VariationalCodec> {
  const beta = options.beta ?? 1;
  if (!Number.isFinite(beta) || beta < 0)
    throw new Error(`vaeLoss: beta must be >= 0, got ${beta}`);
  return (model, input, target, ctx) => {
    const [muF, logvarF] = splitMuLogvar(model.encodeParams(input as tf.Tensor4D));
    const kl = vaeKl(muF, logvarF);
    const z = reparameterize(muF, logvarF, ctx.seed());
    const fit = halfSumSquaredError(model.decode(z), target);
    const loss = beta === 1 ? tf.add(kl, fit) : tf.add(tf.mul(beta, kl), fit);
    const terms: Record<string, tf.Scalar> = { kl, fit };
    if (!ctx.training) {
      tf.unstack(vaeKlPerDimension(muF, logvarF)).forEach((v, j) => {
        terms[`kl_${j}`] = v as tf.Scalar;
      });
    }
    return { loss: loss as tf.Scalar, terms };
  };
}

/** Cross-entropy for a classifier, with the error rate logged as `error`. */
export function classificationLoss(): LossFn<Forward> {
  return (model, input, target) => {
    const logits = model.forward(input) as tf.Tensor2D;
    const labels = target as tf.Tensor1D;
    const loss = crossEntropy(logits, labels);
    const error = tf.tidy(() =>
      tf.mean(tf.cast(tf.notEqual(tf.argMax(logits, 1), tf.cast(labels, "int32")), "float32")),
    ) as tf.Scalar;
    return { loss, terms: { error } };
  };
}
