/**
 * What makes an experiment's checkpoint key: every part that changes the trained model says
 * so in a JSON `config` (models, losses, transforms, corruptions), data enter by the digest
 * of their content, and TRAINING_VERSION salts every key. Nothing is written by hand: a
 * change of any part gives a new key, and the model is trained again.
 */
import * as crypto from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import type { Json } from "./checkpoint";

/**
 * Bump when the training code changes what it computes (the step, Adam's settings, the
 * initialisation, the shuffling): every checkpoint is then trained again.
 */
export const TRAINING_VERSION = 1;

/** Something whose JSON config says all that decides what it computes. */
export interface Configured {
  readonly config: Json;
}

/** `f` with its config attached: a loss or a transform that can enter a checkpoint key. */
export function configured<F extends object>(f: F, config: Json): F & Configured {
  return Object.assign(f, { config });
}

/** 16 hex digits of SHA-256 over the parts, in order (strings as UTF-8, arrays as bytes). */
export function contentDigest(...parts: (string | ArrayBufferView)[]): string {
  const hash = crypto.createHash("sha256");
  for (const part of parts) {
    if (typeof part === "string") hash.update(part, "utf8");
    else hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    hash.update("\u0000");
  }
  return hash.digest("hex").slice(0, 16);
}

/** The digest of tensors' contents (dtype, shape and values): data given as tensors. */
export function tensorDigest(...tensors: tf.Tensor[]): string {
  return contentDigest(
    ...tensors.flatMap((t) => [`${t.dtype}[${t.shape.join(",")}]`, t.dataSync() as Float32Array]),
  );
}
