/** nn.Sequential: children named "0", "1", ... applied in order, channels last inside. */
import * as tf from "@tensorflow/tfjs";
import type { FusedActivation } from "../convolution";
import { Module } from "../module";
import { ReLU } from "./activation";

/** A layer that can apply an activation in its own tfjs op (Conv2d, Linear). */
interface Fusable {
  forwardFused(x: tf.Tensor, activation: FusedActivation): tf.Tensor;
}

function isFusable(m: Module): m is Module & Fusable {
  return typeof (m as Partial<Fusable>).forwardFused === "function";
}

export class Sequential extends Module {
  readonly name = "Sequential";
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    if (layers.length === 0) throw new Error("Sequential: give at least one layer");
    this.layers = layers;
  }

  override children(): Array<[string, Module]> {
    return this.layers.map((m, i): [string, Module] => [String(i), m]);
  }

  /** Applies the layers in turn; a Conv2d or Linear followed by ReLU runs as one fused op. */
  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.layers.length; i++) {
        const layer = this.layers[i] as Module;
        if (isFusable(layer) && this.layers[i + 1] instanceof ReLU) {
          h = layer.forwardFused(h, "relu");
          i++;
        } else {
          h = layer.forwardChannelsLast(h);
        }
      }
      return h;
    });
  }
}
