/**
 * The one encoder/decoder interface, shared by the autoencoders, PCA and the VAE (whose
 * encode gives mu), and the batched versions of its three maps for whole data sets.
 */
import type * as tf from "@tensorflow/tfjs";
import { INFERENCE_BATCH, mapBatches } from "../data/batches";

/** An encoder f and a decoder g over image batches, in PyTorch's layout. */
export interface Codec {
  /** f: images [N, C, H, W] -> codes (the lecture's [N, d, 1, 1]); must not dispose x. */
  encode(x: tf.Tensor4D): tf.Tensor4D;
  /** g: codes -> images [N, C, H, W]; must not dispose z. */
  decode(z: tf.Tensor4D): tf.Tensor4D;
  /** g(f(x)). */
  forward(x: tf.Tensor4D): tf.Tensor4D;
}

/** f on many images, `batchSize` at a time (a whole data set at once would need GBs). */
export function encodeAll(codec: Codec, x: tf.Tensor4D, batchSize = INFERENCE_BATCH): tf.Tensor4D {
  return mapBatches(x, batchSize, (b) => codec.encode(b as tf.Tensor4D));
}

/** g on many codes, `batchSize` at a time. */
export function decodeAll(codec: Codec, z: tf.Tensor4D, batchSize = INFERENCE_BATCH): tf.Tensor4D {
  return mapBatches(z, batchSize, (b) => codec.decode(b as tf.Tensor4D));
}

/** g(f(x)) on many images, `batchSize` at a time: any image-to-image model (a U-Net too). */
export function reconstructAll(
  model: { forward(x: tf.Tensor4D): tf.Tensor },
  x: tf.Tensor4D,
  batchSize = INFERENCE_BATCH,
): tf.Tensor4D {
  return mapBatches(x, batchSize, (b) => model.forward(b as tf.Tensor4D) as tf.Tensor4D);
}
