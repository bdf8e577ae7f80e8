/** Parameter-free element-wise activations (layout does not matter to them). */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../module";

/** nn.ReLU. Not in place (tfjs tensors are immutable), so it prints as `ReLU()`. */
export class ReLU extends Module {
  readonly name = "ReLU";
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** nn.Sigmoid. */
export class Sigmoid extends Module {
  readonly name = "Sigmoid";
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
}

/** nn.Tanh. */
export class Tanh extends Module {
  readonly name = "Tanh";
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
}
