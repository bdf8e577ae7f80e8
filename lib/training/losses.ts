/**
 * The losses of lecture 7, each as the lecture writes it, and the loss functions the
 * training loop takes (model, input, target -> named scalar terms).
 *
 * Tensors are in PyTorch's layout ([N, C, H, W]); "/ N" divides by the batch size, as
 * `input.size(0)`.
 */
import * as tf from "@tensorflow/tfjs";
import { type Configured, configured } from "./key";

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

/** A loss that says what it computes (its config enters the checkpoint key of a training). */
export type ConfiguredLoss<M> = LossFn<M> & Configured;

/** Anything with forward(x). */
export interface Forward {
  forward(x: tf.Tensor): tf.Tensor;
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
): ConfiguredLoss<Forward> {
  const fn: LossFn<Forward> = (model, input, target) => {
    const output = model.forward(input);
    const terms: Record<string, tf.Scalar> = {};
    for (const [name, f] of Object.entries(logged)) terms[name] = f(output, target);
    return { loss: error(output, target), terms };
  };
  const loggedNames = Object.fromEntries(
    Object.entries(logged).map(([name, f]) => [name, errorName(f)]),
  );
  return configured(fn, { loss: "reconstruction", error: errorName(error), logged: loggedNames });
}

/** An error function's name, its identity in a loss's config. */
function errorName(f: ErrorFn): string {
  if (f.name === "") {
    throw new Error(
      "reconstructionLoss: the error function has no name; declare it as `function myError(output, target) {...}` so that checkpoints can tell it from others",
    );
  }
  return f.name;
}

/** Cross-entropy for a classifier, with the error rate logged as `error`. */
export function classificationLoss(): ConfiguredLoss<Forward> {
  const fn: LossFn<Forward> = (model, input, target) => {
    const logits = model.forward(input) as tf.Tensor2D;
    const labels = target as tf.Tensor1D;
    const loss = crossEntropy(logits, labels);
    const error = tf.tidy(() =>
      tf.mean(tf.cast(tf.notEqual(tf.argMax(logits, 1), tf.cast(labels, "int32")), "float32")),
    ) as tf.Scalar;
    return { loss, terms: { error } };
  };
  return configured(fn, { loss: "cross-entropy" });
}
