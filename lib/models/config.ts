/** What describes a model for checkpoint keys: the plain-JSON configuration that built it. */
import type { Module } from "../nn/module";

/** Plain-JSON description of what built a model (include the initialisation seed). */
export type ModelConfig = { [key: string]: string | number | boolean | null };

/** A module that can say what built it (what trainOrLoad keys its checkpoint on). */
export interface ConfiguredModule extends Module {
  readonly config: ModelConfig;
}

/** Throws unless n is a positive integer; returns it. */
export function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${what} must be a positive integer, got ${n}`);
  }
  return n;
}
