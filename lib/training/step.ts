/**
 * The training step, as the lecture writes it (forward, loss, backward, Adam), and the batch
 * it takes: examples gathered by index, then transformed (a corruption, noisy targets).
 */
import * as tf from "@tensorflow/tfjs";
import type { LossFn, LossResult, StepContext } from "./losses";
import type { TrainingData, Transform } from "./train";

/** What every step of a training uses. */
export interface StepSetup<M> {
  model: M;
  loss: LossFn<M>;
  parameters: tf.Variable[];
  optimizer: tf.Optimizer;
  data: TrainingData;
  transforms: Transforms;
  terms: LossTerms;
}

/** One step's examples and context, where it is for messages, and what checks its values. */
export interface Batch {
  indices: Int32Array;
  ctx: StepContext;
  /** E.g. "at epoch 1, step 3 (step 3 overall)". */
  where: string;
  /** Sees the terms and the gradient's squared norm before the update; throws to refuse it. */
  check(values: Float32Array): void;
}

/** One optimiser step: forward, loss, backward, Adam. Returns the values `check` saw. */
export async function trainStep<M>(s: StepSetup<M>, b: Batch): Promise<Float32Array> {
  const { packed, grads } = tf.tidy(() => {
    const { input, target } = gatherBatch(s.data, s.transforms, b);
    let terms: tf.Scalar[] = [];
    const { grads } = tf.variableGrads(() => {
      const r = s.loss(s.model, input, target, b.ctx); // forward and loss
      terms = s.terms.pick(r, b.where).map((t) => tf.keep(t)); // read back with the gradient
      return r.loss;
    }, s.parameters); // backward
    const packed = tf.stack([...terms, squaredNorm(grads)]);
    tf.dispose(terms);
    return { packed, grads };
  });
  try {
    const values = await packed.data<"float32">(); // one read: webgpu has no synchronous one
    b.check(values); // e.g. a non-finite loss or gradient stops here
    s.optimizer.applyGradients(grads); // Adam
    return values;
  } finally {
    tf.dispose([packed, ...Object.values(grads)]);
  }
}

/** The input and target transforms of a training or an evaluation, both optional. */
export interface Transforms {
  inputTransform?: Transform;
  targetTransform?: Transform;
}

/** Input and target of a batch, transformed, the input first (call inside tidy). */
export function transformed(
  x: tf.Tensor,
  t: tf.Tensor,
  ctx: StepContext,
  transforms: Transforms,
): { input: tf.Tensor; target: tf.Tensor } {
  return {
    input: transforms.inputTransform ? transforms.inputTransform(x, ctx) : x,
    target: transforms.targetTransform ? transforms.targetTransform(t, ctx) : t,
  };
}

/** A batch's examples, gathered and transformed (call inside tidy). */
function gatherBatch(
  data: TrainingData,
  transforms: Transforms,
  batch: Batch,
): { input: tf.Tensor; target: tf.Tensor } {
  const index = tf.tensor1d(batch.indices, "int32");
  const x = tf.gather(data.inputs, index);
  const t = data.targets ? tf.gather(data.targets, index) : x;
  return transformed(x, t, batch.ctx, transforms);
}

/** The term names of a loss, "loss" first, fixed by its first result. */
export class LossTerms {
  readonly names: string[] = [];

  /** The scalars of the terms in `r`; throws if the loss function changed its terms. */
  pick(r: LossResult, where: string): tf.Scalar[] {
    if (this.names.length === 0) {
      this.names.push("loss", ...Object.keys(r.terms ?? {}).filter((k) => k !== "loss"));
    }
    return this.names.map((k) => {
      const t = k === "loss" ? r.loss : r.terms?.[k];
      if (t === undefined) {
        throw new Error(
          `train: the loss function returned no term "${k}" ${where}; return the same terms every call`,
        );
      }
      return t;
    });
  }
}

/** Sum of squares of every gradient, as one scalar (for the finiteness check). */
function squaredNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))) as tf.Scalar;
}
