/**
 * PyTorch's default parameter initialisation, drawn from our seeded streams so that a
 * model built with the same seed starts from the same weights.
 *
 * PyTorch initialises Conv*d / ConvTranspose*d / Linear weights with
 * kaiming_uniform_(a = sqrt(5)), whose bound is gain * sqrt(3 / fan_in) with
 * gain = sqrt(2 / (1 + 5)), i.e. 1 / sqrt(fan_in), and biases uniformly in the same
 * +-1 / sqrt(fan_in); fan_in is the product of the weight's dimensions after the first, so
 * for a transposed convolution (weight [in, out, kh, kw]) it counts the *output* channels.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";

/** The stream used when a layer is built without an explicit generator. */
let defaultStream: Rng | null = null;

/** The generator for layers built without `rng` (created lazily from the run seed). */
function defaultInitRng(): Rng {
  if (defaultStream === null) defaultStream = Rng.stream("nn/init");
  return defaultStream;
}

/** PyTorch's bound for a layer with this fan-in: 1 / sqrt(fan_in). */
function pytorchBound(fanIn: number): number {
  if (!Number.isInteger(fanIn) || fanIn <= 0) {
    throw new Error(`pytorchBound: fan_in must be a positive integer, got ${fanIn}`);
  }
  return 1 / Math.sqrt(fanIn);
}

/** A trainable variable of the given shape, uniform in [-bound, bound). */
function uniformVariable(shape: number[], bound: number, rng: Rng): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.uniform(-bound, bound);
  return tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), true));
}

/**
 * A layer's weight of PyTorch shape `shape`, then (unless `bias` is false) its bias of
 * shape[0] or `units` values, both drawn in this order from +-1 / sqrt(fan_in).
 */
export function weightAndBias(
  shape: number[],
  units: number,
  options: { bias?: boolean; rng?: Rng },
): { weight: tf.Variable; bias: tf.Variable | null } {
  const rng = options.rng ?? defaultInitRng();
  const bound = pytorchBound(shape.slice(1).reduce((a, b) => a * b, 1));
  const weight = uniformVariable(shape, bound, rng);
  const bias = options.bias === false ? null : uniformVariable([units], bound, rng);
  return { weight, bias };
}
