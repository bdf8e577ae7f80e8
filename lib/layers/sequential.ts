/** nn.Sequential: children named "0", "1", ... applied in order. */
import * as tf from "@tensorflow/tfjs";
import { ReLU } from "./activation";
import { Conv2d } from "./conv";
import { Module } from "./module";

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

  /** Applies the layers in turn (intermediates freed: safe outside tf.tidy). */
  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.forwardLayers(x));
  }

  private forwardLayers(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i] as Module;
      const next = this.layers[i + 1];
      // Conv2d then ReLU: one fused op, same result as the two modules in turn.
      if (layer instanceof Conv2d && next instanceof ReLU) {
        h = layer.forwardFused(h, "relu");
        i++;
      } else {
        h = layer.forward(h);
      }
    }
    return h;
  }
}
