/**
 * What makes an experiment's checkpoint key: every part that changes the trained model says
 * so in a JSON `config` (models, losses, transforms, corruptions), data enter by the digest
 * of their content, and TRAINING_VERSION salts every key. Nothing is written by hand: a
 * change of any part gives a new key, and the model is trained again. The key's hash (over
 * its canonical JSON) names the checkpoint's folder.
 */
import * as crypto from "node:crypto";
import * as tf from "@tensorflow/tfjs";

/** JSON values allowed in a checkpoint key. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Everything that decides what a trained model is; a change means a new checkpoint. */
export interface CheckpointKey {
  /** Readable name, the start of the folder name, e.g. "ae-d8" (letters, digits, - _ .). */
  name: string;
  /** The model's configuration (e.g. EncoderDecoder.config). */
  model: Json;
  /** Dataset name and size, e.g. { name: "mnist", train: 60000, subset: false }. */
  dataset: Json;
  seed: number;
  /** Epochs, steps, batch size, learning rate, transforms... */
  training: Json;
}

/** The checkpoint format's version: it enters every key, and every manifest states it. */
export const FORMAT_VERSION = 2;

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

/** JSON with object keys sorted, so that equal keys hash equally. */
export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as Json)}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new Error(`checkpoint key: ${value} is not allowed (use finite numbers)`);
  }
  return JSON.stringify(value);
}

/** The key as it is hashed, and as a manifest stores it. */
export function keyJson(key: CheckpointKey): Json {
  return {
    format: FORMAT_VERSION,
    name: key.name,
    model: key.model,
    dataset: key.dataset,
    seed: key.seed,
    training: key.training,
  };
}

/** 16 hex digits of sha256 over the canonical key. */
export function checkpointHash(key: CheckpointKey): string {
  return crypto
    .createHash("sha256")
    .update(canonicalJson(keyJson(key)))
    .digest("hex")
    .slice(0, 16);
}
