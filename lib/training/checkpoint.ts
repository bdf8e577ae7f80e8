/**
 * Checkpoints of trained models on disk, in our own format (tfjs's file:// handler only
 * exists in tfjs-node): a folder per training run, named from a hash of what determines
 * the result (model configuration, dataset, seed, training length), holding
 *   weights-<sha256 prefix>.bin   the parameters, float32 little-endian, concatenated
 *   manifest.json                 key, parameter names/shapes/offsets, weights sha256, log
 * Both are written to a temporary file and renamed; the manifest last, so a folder is
 * either the old complete checkpoint or the new one. Loading checks everything (JSON,
 * key, sizes, sha256, parameter names and shapes) before touching the model.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type pl from "nodejs-polars";
import { writeFileAtomic } from "../atomic-write";
import { settings } from "../settings";
import { plural } from "../viz/format";
import { type EpochRow, logFrame } from "./train";

/** JSON values allowed in a checkpoint key. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Everything that decides what a trained model is; a change means a new checkpoint. */
export interface CheckpointKey {
  /** Readable name, the start of the folder name, e.g. "ae-d8" (letters, digits, - _ .). */
  name: string;
  /** The model's configuration (e.g. EncoderDecoder.config). */
  model: Json;
  /** Dataset name and size, e.g. "mnist" or { name: "mnist", train: 60000 }. */
  dataset: Json;
  seed: number;
  /** Epochs, steps, batch size, learning rate, transforms... */
  training: Json;
}

/** A model whose parameters can be saved: the module system's namedParameters(). */
export interface Checkpointable {
  namedParameters(): Array<[string, tf.Variable]>;
}

interface ManifestParameter {
  name: string;
  shape: number[];
  /** Offset and length in float32 values. */
  offset: number;
  length: number;
}

interface Manifest {
  format: "dlc7-checkpoint";
  version: 1;
  hash: string;
  key: Json;
  created: string;
  weights: { file: string; bytes: number; sha256: string };
  parameters: ManifestParameter[];
  log: Array<Record<string, number | null>>;
}

const MANIFEST = "manifest.json";

/** A checkpoint that exists but cannot be used; the message says why in one line. */
export class CheckpointError extends Error {
  constructor(
    readonly folder: string,
    reason: string,
  ) {
    super(`checkpoint ${path.basename(folder)}: ${reason}`);
    this.name = "CheckpointError";
  }
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

function keyJson(key: CheckpointKey): Json {
  return {
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

/** The folder of a key's checkpoint: <dir>/<name>-<hash>. */
export function checkpointFolder(key: CheckpointKey, dir: string = settings.checkpointDir): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key.name)) {
    throw new Error(`checkpoint name "${key.name}": use letters, digits, "-", "_" and "." only`);
  }
  return path.join(dir, `${key.name}-${checkpointHash(key)}`);
}

function logRows(
  log: pl.DataFrame | readonly EpochRow[] | undefined,
): Array<Record<string, number | null>> {
  if (log === undefined) return [];
  const rows: ReadonlyArray<Record<string, unknown>> = Array.isArray(log)
    ? (log as readonly EpochRow[])
    : (log as pl.DataFrame).toRecords();
  return rows.map((r) => {
    const out: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(r)) {
      const n = typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number") throw new Error(`checkpoint log: column "${k}" is not numeric`);
      out[k] = Number.isFinite(n) ? n : null;
    }
    return out;
  });
}

/** Saves the model's parameters (and its training log) under the key's folder; returns it. */
export function saveCheckpoint(
  model: Checkpointable,
  key: CheckpointKey,
  log?: pl.DataFrame | readonly EpochRow[],
  dir: string = settings.checkpointDir,
): string {
  const folder = checkpointFolder(key, dir);
  const named = model.namedParameters();
  const total = named.reduce((s, [, v]) => s + v.size, 0);
  const values = new Float32Array(total);
  const parameters: ManifestParameter[] = [];
  let offset = 0;
  for (const [name, v] of named) {
    if (v.dtype !== "float32")
      throw new Error(`saveCheckpoint: parameter ${name} is ${v.dtype}, expected float32`);
    values.set(v.dataSync() as Float32Array, offset);
    parameters.push({ name, shape: [...v.shape], offset, length: v.size });
    offset += v.size;
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
  const weightsFile = `weights-${sha256.slice(0, 16)}.bin`;
  const manifest: Manifest = {
    format: "dlc7-checkpoint",
    version: 1,
    hash: checkpointHash(key),
    key: keyJson(key),
    created: new Date().toISOString(),
    weights: { file: weightsFile, bytes: bytes.byteLength, sha256 },
    parameters,
    log: logRows(log),
  };
  fs.mkdirSync(folder, { recursive: true });
  writeFileAtomic(path.join(folder, weightsFile), bytes, { fsync: true });
  writeFileAtomic(path.join(folder, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`, {
    fsync: true,
  });
  // Weights of an older save of the same key are no longer referenced.
  for (const f of fs.readdirSync(folder)) {
    if (f.startsWith("weights-") && f !== weightsFile)
      fs.rmSync(path.join(folder, f), { force: true });
  }
  return folder;
}

function readManifest(folder: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(folder, MANIFEST), "utf8"));
  } catch (e) {
    throw new CheckpointError(folder, `manifest.json is unreadable (${(e as Error).message})`);
  }
  const m = parsed as Partial<Manifest>;
  if (
    m === null ||
    typeof m !== "object" ||
    m.format !== "dlc7-checkpoint" ||
    m.version !== 1 ||
    typeof m.hash !== "string" ||
    typeof m.weights?.file !== "string" ||
    typeof m.weights.bytes !== "number" ||
    typeof m.weights.sha256 !== "string" ||
    !Array.isArray(m.parameters) ||
    !Array.isArray(m.log)
  ) {
    throw new CheckpointError(
      folder,
      "manifest.json is not a dlc7 checkpoint manifest (version 1)",
    );
  }
  return m as Manifest;
}

/** Whether a checkpoint folder for this key exists (usable or not). */
export function hasCheckpoint(key: CheckpointKey, dir: string = settings.checkpointDir): boolean {
  return fs.existsSync(path.join(checkpointFolder(key, dir), MANIFEST));
}

/**
 * Loads the key's checkpoint into `model` and returns its training log, or null when there
 * is none. Throws CheckpointError (model untouched) when the checkpoint is corrupt or does
 * not match the key or the model's parameters.
 */
export function loadCheckpoint(
  model: Checkpointable,
  key: CheckpointKey,
  dir: string = settings.checkpointDir,
): pl.DataFrame | null {
  const folder = checkpointFolder(key, dir);
  if (!fs.existsSync(path.join(folder, MANIFEST))) return null;
  const m = readManifest(folder);
  if (m.hash !== checkpointHash(key) || canonicalJson(m.key) !== canonicalJson(keyJson(key))) {
    throw new CheckpointError(
      folder,
      "its key differs from the requested one (configuration changed)",
    );
  }
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(folder, m.weights.file));
  } catch (e) {
    throw new CheckpointError(
      folder,
      `weights file ${m.weights.file} is unreadable (${(e as Error).message})`,
    );
  }
  if (buf.byteLength !== m.weights.bytes) {
    throw new CheckpointError(
      folder,
      `weights file has ${buf.byteLength} bytes, the manifest says ${m.weights.bytes}`,
    );
  }
  if (crypto.createHash("sha256").update(buf).digest("hex") !== m.weights.sha256) {
    throw new CheckpointError(folder, "weights file does not match its sha256 (corrupt)");
  }
  const named = model.namedParameters();
  const byName = new Map(m.parameters.map((p) => [p.name, p]));
  if (named.length !== m.parameters.length) {
    throw new CheckpointError(
      folder,
      `it has ${m.parameters.length} parameters, the model ${named.length}`,
    );
  }
  // Copy into an aligned buffer (a Buffer may start at any byte offset).
  const values = new Float32Array(buf.byteLength / 4);
  new Uint8Array(values.buffer).set(buf);
  for (const [name, v] of named) {
    const p = byName.get(name);
    if (p === undefined) throw new CheckpointError(folder, `it has no parameter "${name}"`);
    if (p.shape.length !== v.shape.length || p.shape.some((n, i) => n !== v.shape[i])) {
      throw new CheckpointError(
        folder,
        `parameter "${name}" has shape [${p.shape.join(", ")}] there, [${v.shape.join(", ")}] in the model`,
      );
    }
    if (p.length !== v.size || p.offset < 0 || p.offset + p.length > values.length) {
      throw new CheckpointError(folder, `parameter "${name}" lies outside the weights file`);
    }
  }
  for (const [name, v] of named) {
    const p = byName.get(name) as ManifestParameter;
    tf.tidy(() =>
      v.assign(tf.tensor(values.subarray(p.offset, p.offset + p.length), p.shape, "float32")),
    );
  }
  return logFrame(
    m.log.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, x ?? NaN]))),
  );
}

export interface TrainOrLoadOptions {
  /** Default settings.checkpointDir. */
  dir?: string;
  /** Where the one-line report goes (default console.log). */
  report?: (line: string) => void;
}

export interface TrainOrLoadResult<M> {
  model: M;
  /** The training log (loaded from the checkpoint, or from this training run). */
  log: pl.DataFrame;
  /** true when the parameters came from disk. */
  loaded: boolean;
  folder: string;
}

/**
 * Builds the model, then loads its checkpoint if a usable one exists; otherwise (none,
 * corrupt, mismatched: said in one line) trains it with `trainFn` and saves it.
 */
export async function trainOrLoad<M extends Checkpointable>(
  key: CheckpointKey,
  build: () => M,
  trainFn: (model: M) => Promise<{ log: pl.DataFrame }> | { log: pl.DataFrame },
  options: TrainOrLoadOptions = {},
): Promise<TrainOrLoadResult<M>> {
  const dir = options.dir ?? settings.checkpointDir;
  const report = options.report ?? ((line: string) => console.log(line));
  const folder = checkpointFolder(key, dir);
  const name = path.basename(folder);
  const model = build();
  try {
    const log = loadCheckpoint(model, key, dir);
    if (log !== null) {
      report(`checkpoint ${name}: loaded (${plural(log.height, "epoch")} logged)`);
      return { model, log, loaded: true, folder };
    }
    report(`checkpoint ${name}: none yet, training`);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    report(`${e.message}; retraining`);
  }
  const { log } = await trainFn(model);
  saveCheckpoint(model, key, log, dir);
  report(`checkpoint ${name}: saved`);
  return { model, log, loaded: false, folder };
}
