/**
 * A U-Net in the pattern of Noise2Noise's table (Lehtinen et al., 2018, as lecture 7.3
 * prints it), with two pooling levels for 28 × 28 images instead of five for 256 × 256:
 * 3 × 3 convolutions with padding 1, max-pool down, nearest upsample and concatenate the
 * skip, a last linear convolution. Built from nn's Sequential and SkipConcat, so it prints
 * and saves as the same nn.Sequential would in PyTorch.
 */
import * as tf from "@tensorflow/tfjs";
import { Module } from "../nn/module";
import { ReLU } from "../nn/modules/activation";
import { Conv2d } from "../nn/modules/conv";
import { MaxPool2d, Upsample } from "../nn/modules/pooling";
import { Sequential } from "../nn/modules/sequential";
import { SkipConcat } from "../nn/modules/skip";
import { Rng } from "../random";
import { settings } from "../settings";
import { type ConfiguredModule, type ModelConfig, positiveInt } from "./config";
import { traceModule } from "./summary";

export interface UNetOptions {
  /** Channels of the encoder's convolutions (the table's 48); the decoder has twice as many. */
  channels?: number;
  /** The table's n and m: image channels in and out (default 1 and 1). */
  inChannels?: number;
  outChannels?: number;
  /** Initialisation seed (default settings.seed). */
  seed?: number;
}

/** One row of the lecture's table: NAME, N_out, FUNCTION, with the traced size. */
export interface UNetRow {
  name: string;
  /** Channels out (the table's N_out). */
  channels: number;
  function: string;
  /** "C x H x W" of the output for a 1 × 28 × 28 input (or the given size). */
  size: string;
  parameters: number;
}

/** The table's rows after INPUT, in the order the network runs them. */
const OPERATIONS: ReadonlyArray<[string, string]> = [
  ["ENC_CONV0", "Convolution 3×3"],
  ["ENC_CONV1", "Convolution 3×3"],
  ["POOL1", "Maxpool 2×2"],
  ["ENC_CONV2", "Convolution 3×3"],
  ["POOL2", "Maxpool 2×2"],
  ["ENC_CONV3", "Convolution 3×3"],
  ["UPSAMPLE2", "Upsample 2×2"],
  ["CONCAT2", "Concatenate output of POOL1"],
  ["DEC_CONV2A", "Convolution 3×3"],
  ["DEC_CONV2B", "Convolution 3×3"],
  ["UPSAMPLE1", "Upsample 2×2"],
  ["CONCAT1", "Concatenate INPUT"],
  ["DEC_CONV1A", "Convolution 3×3"],
  ["DEC_CONV1B", "Convolution 3×3"],
  ["DEC_CONV1C", "Convolution 3×3, linear act."],
];

const conv3 = (i: number, o: number, rng: Rng): Conv2d => new Conv2d(i, o, 3, { padding: 1, rng });
const convRelu = (i: number, o: number, rng: Rng): [Conv2d, ReLU] => [conv3(i, o, rng), new ReLU()];

/**
 * φ: [N, n, H, W] -> [N, m, H, W] for H and W divisible by 4. With c encoder channels
 * (sizes for c = 48 and a 1 × 28 × 28 input):
 *
 *   ENC_CONV0, ENC_CONV1   c × 28 × 28          DEC_CONV2A, 2B   2c × 14 × 14
 *   POOL1                  c × 14 × 14          UPSAMPLE1        2c × 28 × 28
 *   ENC_CONV2              c × 14 × 14          CONCAT1 (INPUT)  2c + n × 28 × 28
 *   POOL2                  c × 7 × 7            DEC_CONV1A       4c/3 × 28 × 28 (64)
 *   ENC_CONV3              c × 7 × 7            DEC_CONV1B       2c/3 × 28 × 28 (32)
 *   UPSAMPLE2              c × 14 × 14          DEC_CONV1C       m × 28 × 28, linear
 *   CONCAT2 (POOL1)        2c × 14 × 14
 */
export class UNet extends Module implements ConfiguredModule {
  readonly name = "UNet";
  readonly net: Sequential;
  readonly config: ModelConfig;
  readonly inChannels: number;

  constructor(options: UNetOptions = {}) {
    super();
    const c = positiveInt("UNet channels", options.channels ?? 48);
    const n = positiveInt("UNet inChannels", options.inChannels ?? 1);
    const m = positiveInt("UNet outChannels", options.outChannels ?? 1);
    if (c % 3 !== 0) {
      throw new Error(
        `UNet: channels must be a multiple of 3 (the table's 48: 64 and 32 are 4c/3 and 2c/3), got ${c}`,
      );
    }
    const seed = options.seed ?? settings.seed;
    const rng = Rng.stream("UNet/init", seed);
    const [d, a, b] = [2 * c, (4 * c) / 3, (2 * c) / 3];
    this.inChannels = n;
    this.net = new Sequential(
      new SkipConcat(
        new Sequential(
          ...convRelu(n, c, rng), // ENC_CONV0
          ...convRelu(c, c, rng), // ENC_CONV1
          new MaxPool2d(2), // POOL1
          new SkipConcat(
            new Sequential(
              ...convRelu(c, c, rng), // ENC_CONV2
              new MaxPool2d(2), // POOL2
              ...convRelu(c, c, rng), // ENC_CONV3 (the table's ENC_CONV6)
              new Upsample({ scaleFactor: 2 }), // UPSAMPLE2
            ),
          ), // CONCAT2: with POOL1's output
          ...convRelu(d, d, rng), // DEC_CONV2A
          ...convRelu(d, d, rng), // DEC_CONV2B
          new Upsample({ scaleFactor: 2 }), // UPSAMPLE1
        ),
      ), // CONCAT1: with the INPUT
      ...convRelu(d + n, a, rng), // DEC_CONV1A
      ...convRelu(a, b, rng), // DEC_CONV1B
      conv3(b, m, rng), // DEC_CONV1C, linear
    );
    this.config = { model: "UNet", channels: c, inChannels: n, outChannels: m, seed };
  }

  override children(): Array<[string, Module]> {
    return this.net.children();
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels || x.shape[2]! % 4 || x.shape[3]! % 4) {
      throw new Error(
        `UNet: expected images [N, ${this.inChannels}, H, W] with H and W multiples of 4 (two 2 × 2 poolings), got [${x.shape.join(", ")}]`,
      );
    }
    return super.forward(x) as tf.Tensor4D;
  }

  override forwardChannelsLast(x: tf.Tensor): tf.Tensor {
    return this.net.forwardChannelsLast(x);
  }

  /** The lecture's table for this network: every operation with its output size. */
  table(inputSize: readonly [number, number] = [28, 28]): UNetRow[] {
    const input = [this.inChannels, ...inputSize];
    const rows: UNetRow[] = [
      {
        name: "INPUT",
        channels: this.inChannels,
        function: "",
        size: input.join(" x "),
        parameters: 0,
      },
    ];
    // One row per operation the table lists: the traced rows without the ReLUs.
    const traced = traceModule(this.net, "unet", input).rows.filter((r) => r.kind !== "ReLU");
    traced.forEach((r, i) => {
      const [name, what] = OPERATIONS[i] as [string, string];
      rows.push({
        name,
        channels: Number(r.output.split(" x ")[0]),
        function: what,
        size: r.output,
        parameters: r.parameters,
      });
    });
    return rows;
  }

  /** The table as text, NAME / N_out / FUNCTION / size / parameters, then the total. */
  summary(): string {
    const rows = this.table();
    const lines = rows.map(
      (r) =>
        `${r.name.padEnd(11)} ${String(r.channels).padStart(5)}  ${r.function.padEnd(32)}${r.size.padEnd(14)}${r.parameters > 0 ? r.parameters.toLocaleString("en-US").padStart(8) : ""}`,
    );
    return [
      `${"NAME".padEnd(11)} ${"N_out".padStart(5)}  ${"FUNCTION".padEnd(32)}${"size".padEnd(14)}${"params".padStart(8)}`,
      ...lines,
      `Parameters: ${this.parameterCount().toLocaleString("en-US")}`,
    ].join("\n");
  }
}
