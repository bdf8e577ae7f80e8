/** Pooling and resampling on NHWC tensors, with PyTorch's defaults (stride = kernel size). */
import * as tf from "@tensorflow/tfjs";
import { Module } from "./module";

function checkSize(layer: string, k: number): void {
  if (!Number.isInteger(k) || k <= 0)
    throw new Error(`${layer}: size must be a positive integer, got ${k}`);
}

function check4d(layer: string, x: tf.Tensor): tf.Tensor4D {
  if (x.rank !== 4)
    throw new Error(`${layer}: expected a 4-d NHWC tensor, got shape [${x.shape.join(", ")}]`);
  return x as tf.Tensor4D;
}

/** nn.MaxPool2d(kernel_size, stride = kernel_size), no padding: out = floor((in - k) / s) + 1. */
export class MaxPool2d extends Module {
  readonly name = "MaxPool2d";
  readonly stride: number;
  constructor(
    readonly kernelSize: number,
    stride?: number,
  ) {
    super();
    checkSize("MaxPool2d", kernelSize);
    this.stride = stride ?? kernelSize;
    checkSize("MaxPool2d stride", this.stride);
  }
  override forward(x: tf.Tensor): tf.Tensor4D {
    return tf.maxPool(check4d("MaxPool2d", x), this.kernelSize, this.stride, "valid");
  }
  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.stride}, padding=0, dilation=1, ceil_mode=False`;
  }
}

/** nn.AvgPool2d(kernel_size, stride = kernel_size), no padding. AvgPool2d(2) is F.avg_pool2d(x, 2). */
export class AvgPool2d extends Module {
  readonly name = "AvgPool2d";
  readonly stride: number;
  constructor(
    readonly kernelSize: number,
    stride?: number,
  ) {
    super();
    checkSize("AvgPool2d", kernelSize);
    this.stride = stride ?? kernelSize;
    checkSize("AvgPool2d stride", this.stride);
  }
  override forward(x: tf.Tensor): tf.Tensor4D {
    return tf.avgPool(check4d("AvgPool2d", x), this.kernelSize, this.stride, "valid");
  }
  override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.stride}, padding=0`;
  }
}

/** nn.Upsample(scale_factor, mode = "nearest" | "bilinear"), integer factors only. */
export class Upsample extends Module {
  readonly name = "Upsample";
  constructor(
    readonly scaleFactor: number,
    readonly mode: "nearest" | "bilinear" = "nearest",
  ) {
    super();
    checkSize("Upsample scaleFactor", scaleFactor);
  }
  override forward(x: tf.Tensor): tf.Tensor4D {
    const x4 = check4d("Upsample", x);
    const [n, h, w, c] = x4.shape;
    const s = this.scaleFactor;
    if (this.mode === "nearest") {
      // Repeat each pixel s x s times by broadcasting: exact, and its gradient (a sum over
      // the s x s block) is right on every backend (tfjs-cpu's ResizeNearestNeighborGrad
      // mixes up images when the batch has more than one).
      // (rank-3 broadcasts: tfjs's Tile gradient stops at rank 4).
      return tf.tidy(() => {
        const rows = tf.broadcastTo(tf.reshape(x4, [n * h, 1, w * c]), [n * h, s, w * c]);
        const cols = tf.broadcastTo(tf.reshape(rows, [n * h * s * w, 1, c]), [n * h * s * w, s, c]);
        return tf.reshape(cols, [n, h * s, w * s, c]);
      });
    }
    // halfPixelCenters = true samples as PyTorch's align_corners=False.
    return tf.image.resizeBilinear(x4, [h * s, w * s], false, true);
  }

  override extraRepr(): string {
    return `scale_factor=${this.scaleFactor.toFixed(1)}, mode='${this.mode}'`;
  }
}
