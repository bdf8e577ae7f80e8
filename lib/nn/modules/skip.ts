/**
 * A skip connection by concatenation, as U-Nets use: the output is the inner block's
 * output with the block's input appended on the channel axis, torch.cat([inner(x), x], 1).
 * Nesting SkipConcat blocks inside Sequential builds a U-Net level by level.
 */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../module";

export class SkipConcat extends Module {
  readonly name = "SkipConcat";

  constructor(readonly inner: Module) {
    super();
  }

  override children(): Array<[string, Module]> {
    return [["inner", this.inner]];
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = this.inner.forwardChannelsLast(x);
      const same = y.rank === x.rank && y.shape.slice(0, -1).every((s, i) => s === x.shape[i]);
      if (!same) {
        // Shapes in PyTorch's order, as the user wrote the block.
        const chw = (t: tf.Tensor): string =>
          `[${[t.shape[0], ...t.shape.slice(-1), ...t.shape.slice(1, -1)].join(", ")}]`;
        throw new Error(
          `SkipConcat: the inner block maps ${chw(x)} to ${chw(y)}; it must keep the batch and spatial sizes for its output to be concatenated with its input`,
        );
      }
      return tf.concat([y, x], -1);
    });
  }
}
