/**
 * An encoder f and a decoder g as one module: encode, decode, forward = g(f(x)), printed as
 * PyTorch prints a module with `encoder` and `decoder` children, with the lecture's size
 * tables. The autoencoders of 7.2 and 7.3 and the VAE of 7.4 are EncoderDecoders.
 */
import type * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { Sequential } from "../nn/modules/sequential";
import type { Codec } from "./codec";
import type { ConfiguredModule, ModelConfig } from "./config";
import { type LayerRow, formatSizeTable, traceModule } from "./summary";

export class EncoderDecoder extends Module implements Codec, ConfiguredModule {
  /** Input size C x H x W. */
  readonly inputSize: [number, number, number];

  constructor(
    readonly name: string,
    readonly encoder: Module,
    readonly decoder: Module,
    inputSize: [number, number, number],
    /** What built this model, for checkpoint keys (include the seed). */
    readonly config: ModelConfig,
  ) {
    super();
    this.inputSize = inputSize;
  }

  override children(): Array<[string, Module]> {
    return [
      ["encoder", this.encoder],
      ["decoder", this.decoder],
    ];
  }

  /** f: images [N, C, H, W] -> codes (for the lecture's AE, [N, d, 1, 1]). */
  encode(x: tf.Tensor4D): tf.Tensor4D {
    this.checkImages(`${this.name}.encode`, x);
    return this.encoder.forward(x) as tf.Tensor4D;
  }

  /** g: codes -> images. */
  decode(z: tf.Tensor4D): tf.Tensor4D {
    return this.decoder.forward(z) as tf.Tensor4D;
  }

  /** g(f(x)), channels last in between (no layout change at the code). */
  override forward(x: tf.Tensor): tf.Tensor4D {
    this.checkImages(this.name, x);
    return super.forward(x) as tf.Tensor4D;
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return this.decoder.forwardChannelsLast(this.encoder.forwardChannelsLast(x));
  }

  private checkImages(op: string, x: tf.Tensor): void {
    const [c, h, w] = this.inputSize;
    if (x.rank !== 4 || x.shape[1] !== c || x.shape[2] !== h || x.shape[3] !== w) {
      throw new Error(`${op}: expected images [N, ${c}, ${h}, ${w}], got [${x.shape.join(", ")}]`);
    }
  }

  /** Every layer of encoder then decoder with its input and output sizes. */
  summaryRows(): LayerRow[] {
    const enc = traceModule(this.encoder, "encoder", this.inputSize);
    // A VAE's decoder takes d of the encoder's 2d channels: ask its first layer.
    const first = (this.decoder instanceof Sequential ? this.decoder.layers[0] : this.decoder) as
      (Module & { inChannels?: number }) | undefined;
    const [c, ...spatial] = enc.outputSize;
    const dec = traceModule(this.decoder, "decoder", [
      first?.inChannels ?? (c as number),
      ...spatial,
    ]);
    return [...enc.rows, ...dec.rows];
  }

  /** The lecture's printout: PyTorch repr, size tables of encoder and decoder, parameter count. */
  summary(): string {
    const rows = this.summaryRows();
    return [
      this.describe(),
      "",
      formatSizeTable(
        "Encoder",
        rows.filter((r) => r.stage === "encoder"),
      ),
      "",
      formatSizeTable(
        "Decoder",
        rows.filter((r) => r.stage === "decoder"),
      ),
      "",
      `Parameters: ${this.parameterCount().toLocaleString("en-US")}`,
    ].join("\n");
  }
}
