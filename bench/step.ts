/** One training step as the benchmarks time it: Adam on the lecture's loss, loss read back. */
import * as tf from "@tensorflow/tfjs";
import type { BenchModel } from "./models";

/**
 * One Adam step on batch x. The loss is read asynchronously, as a training loop reads each
 * step's loss: that waits for the GPU (webgpu has no synchronous read in Node).
 */
export async function trainStep(
  model: BenchModel,
  optimizer: tf.Optimizer,
  x: tf.Tensor,
): Promise<number> {
  const cost = optimizer.minimize(() => model.loss(x), true, model.parameters);
  if (cost === null) throw new Error("bench: the optimizer returned no loss");
  const v = (await cost.data())[0]!;
  cost.dispose();
  return v;
}
