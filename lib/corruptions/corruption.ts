/**
 * The one interface of 7.3's corruptions (the lecture's `corruptor.corrupt(input)`): small
 * objects that say what they are and corrupt a batch of images [N, C, H, W] from a seed.
 */
import * as tf from "@tensorflow/tfjs";
import { seedFor } from "../random";
import type { Json } from "../training/key";
import { type Configured, configured } from "../training/key";
import type { Transform } from "../training/train";

export interface Corruption extends Configured {
  /** What it is, e.g. "pixel erasure". */
  readonly name: string;
  /** Its parameters, e.g. { p: 0.9 }: with the name, all that decides its output. */
  readonly parameters: Readonly<Record<string, number>>;
  /** The parameters as the lecture writes them, e.g. "p = 0.9", "σ = 4", "16×16". */
  readonly setting: string;
  /** A title for figures, e.g. "Corrupted (p = 0.9)". */
  readonly label: string;
  /** A file-name-safe identifier, e.g. "pixel-erasure-p0.9", for figure names. */
  readonly id: string;
  /**
   * A corrupted copy of images [N, C, H, W] (element-wise noises take any batch [N, ...]);
   * the same input and seed give the same output. Does not dispose x.
   */
  corrupt(x: tf.Tensor4D, seed: number): tf.Tensor4D;
}

/** What every corruption holds: its name, parameters, how the lecture writes them, a title. */
export abstract class CorruptionBase<P extends Record<string, number>> implements Corruption {
  readonly setting: string;
  readonly label: string;

  constructor(
    readonly name: string,
    readonly parameters: Readonly<P>,
    setting: string,
    /** The figure title around the setting, e.g. "Corrupted" gives "Corrupted (p = 0.9)". */
    title = "Corrupted",
  ) {
    this.setting = setting;
    this.label = `${title} (${setting})`;
  }

  /** { corruption: name, ...parameters }: all that decides the output. */
  get config(): Json {
    return { corruption: this.name, ...this.parameters };
  }

  get id(): string {
    const params = Object.entries(this.parameters).map(([k, v]) => `${k}${v}`);
    return [this.name.replace(/[^A-Za-z0-9]+/g, "-"), ...params].join("-");
  }

  abstract corrupt(x: tf.Tensor4D, seed: number): tf.Tensor4D;
}

export interface TransformOptions {
  /** Named stream the draws come from: input and target noise of Noise2Noise use two names. */
  stream: string;
  /** Corrupt the test batches too (default true); false keeps clean test targets. */
  atTest?: boolean;
}

/** A transform that says what it computes (its config enters the checkpoint key). */
export type ConfiguredTransform = Transform & Configured;

/**
 * The corruption as a training transform: each batch's draws come from the step's seed mixed
 * with the stream's name, so two transforms with different names draw independent noise.
 */
export function corruptionTransform(c: Corruption, options: TransformOptions): ConfiguredTransform {
  const atTest = options.atTest ?? true;
  const fn: Transform = (x, ctx) => {
    const step = ctx.seed();
    if (!ctx.training && !atTest) return x;
    return c.corrupt(x as tf.Tensor4D, seedFor(options.stream, step));
  };
  return configured(fn, { corruption: c.config, stream: options.stream, atTest });
}

/** Throws unless x is a float32 batch [N, ...]: element-wise noises take images, codes, points. */
export function checkBatch(name: string, x: tf.Tensor): void {
  if (x.rank < 1 || x.dtype !== "float32") {
    throw new Error(
      `${name}: expected a float32 batch [N, ...], got ${x.dtype} [${x.shape.join(", ")}]`,
    );
  }
}

/** Throws unless x is a float32 batch of images [N, C, H, W]. */
export function checkImages(name: string, x: tf.Tensor): void {
  if (x.rank !== 4) {
    throw new Error(
      `${name}: expected images [N, C, H, W], got shape [${x.shape.join(", ")}]; add the batch and channel axes (x.reshape([n, 1, 28, 28]))`,
    );
  }
  if (x.dtype !== "float32") {
    throw new Error(`${name}: expected float32 images, got ${x.dtype}; cast with x.toFloat()`);
  }
}

/** Throws unless p is a probability. */
export function checkProbability(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`${name}: p must be in [0, 1], got ${p}`);
  return p;
}

/** Throws unless v is a finite number > 0. */
export function checkPositive(name: string, what: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name}: ${what} must be > 0, got ${v}`);
  return v;
}
