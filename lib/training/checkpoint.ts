/**
 * Checkpoints of trained models on disk: a folder per training run, named from a hash of
 * what determines the result (model configuration, dataset, seed, training), holding
 *   weights-<sha256 prefix>.safetensors   the parameters by PyTorch name (lib/nn/safetensors)
 *   manifest.json                         key, weights file and sha256, training logs
 * Both are written to a temporary file and renamed; the manifest last, so a folder is
 * either the old complete checkpoint or the new one. Loading checks everything (JSON, key,
 * size, sha256, tensor layout, names and shapes, logs) before touching the model.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type pl from "nodejs-polars";
import { writeFileAtomic } from "../atomic-write";
import type { StateDict } from "../nn/module";
import { decodeSafetensors, encodeSafetensors } from "../nn/safetensors";
import { settings } from "../settings";
import { plural } from "../viz/format";
import { type LogRow, logFrame } from "./train";

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

/** A model whose parameters can be saved and restored: the nn module system. */
export interface Checkpointable {
  stateDict(): StateDict;
  loadStateDict(dict: StateDict): void;
}

/** The training logs a checkpoint keeps: per epoch, and every few steps. */
export interface TrainingLogs {
  log: pl.DataFrame;
  history: pl.DataFrame;
}

interface CheckpointManifest {
  format: "dlc7-checkpoint";
  version: 2;
  hash: string;
  key: Json;
  created: string;
  weights: { file: string; bytes: number; sha256: string };
  log: Array<Record<string, number | null>>;
  history: Array<Record<string, number | null>>;
}

const MANIFEST = "manifest.json";
const FORMAT_VERSION = 2;

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

/** The folder of a key's checkpoint: <dir>/<name>-<hash>. */
export function checkpointFolder(key: CheckpointKey, dir: string = settings.checkpointDir): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key.name)) {
    throw new Error(`checkpoint name "${key.name}": use letters, digits, "-", "_" and "." only`);
  }
  return path.join(dir, `${key.name}-${checkpointHash(key)}`);
}

function logRows(frame: pl.DataFrame): Array<Record<string, number | null>> {
  return frame.toRecords().map((r) => {
    const out: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(r)) {
      const n = typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number") throw new Error(`checkpoint log: column "${k}" is not numeric`);
      out[k] = Number.isFinite(n) ? n : null;
    }
    return out;
  });
}

/**
 * Saves the model's parameters and its training logs under the key's folder; returns it.
 * Refuses a parameter that is not finite (a diverged model is not worth keeping).
 */
export function saveCheckpoint(
  model: Checkpointable,
  key: CheckpointKey,
  logs: TrainingLogs,
  dir: string = settings.checkpointDir,
): string {
  const folder = checkpointFolder(key, dir);
  const state = model.stateDict();
  for (const [name, t] of state) {
    if (!t.values.every(Number.isFinite)) {
      throw new Error(
        `saveCheckpoint ${path.basename(folder)}: parameter ${name} holds NaN or Infinity; not saved (the training diverged: lower the learning rate)`,
      );
    }
  }
  const bytes = encodeSafetensors(state, { format: "dlc7-checkpoint" });
  const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
  const weightsFile = `weights-${sha256.slice(0, 16)}.safetensors`;
  const manifest: CheckpointManifest = {
    format: "dlc7-checkpoint",
    version: FORMAT_VERSION,
    hash: checkpointHash(key),
    key: keyJson(key),
    created: new Date().toISOString(),
    weights: { file: weightsFile, bytes: bytes.byteLength, sha256 },
    log: logRows(logs.log),
    history: logRows(logs.history),
  };
  fs.mkdirSync(folder, { recursive: true });
  writeFileAtomic(path.join(folder, weightsFile), bytes, { fsync: true });
  writeFileAtomic(path.join(folder, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`, {
    fsync: true,
  });
  // Weights of an older save of the same key are no longer referenced.
  for (const f of fs.readdirSync(folder)) {
    if (f.startsWith("weights-") && f !== weightsFile) {
      fs.rmSync(path.join(folder, f), { force: true });
    }
  }
  return folder;
}

/** Log rows as written by logRows: numbers or null (non-finite). */
function parseLog(folder: string, value: unknown, what: string): LogRow[] {
  if (!Array.isArray(value))
    throw new CheckpointError(folder, `manifest.json: ${what} is not a list`);
  return value.map((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new CheckpointError(folder, `manifest.json: ${what} row ${i} is not an object`);
    }
    const out: LogRow = {};
    for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
      if (v !== null && typeof v !== "number") {
        throw new CheckpointError(
          folder,
          `manifest.json: ${what} row ${i}, "${k}" is not a number`,
        );
      }
      out[k] = v ?? NaN;
    }
    return out;
  });
}

function readManifest(folder: string): CheckpointManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(folder, MANIFEST), "utf8"));
  } catch (e) {
    throw new CheckpointError(folder, `manifest.json is unreadable (${(e as Error).message})`);
  }
  const m = parsed as Partial<CheckpointManifest> | null;
  if (
    m === null ||
    typeof m !== "object" ||
    m.format !== "dlc7-checkpoint" ||
    m.version !== FORMAT_VERSION ||
    typeof m.hash !== "string" ||
    typeof m.weights?.file !== "string" ||
    !/^weights-[0-9a-f]{16}\.safetensors$/.test(m.weights.file) ||
    typeof m.weights.bytes !== "number" ||
    typeof m.weights.sha256 !== "string"
  ) {
    throw new CheckpointError(
      folder,
      `manifest.json is not a dlc7 checkpoint manifest (version ${FORMAT_VERSION})`,
    );
  }
  return m as CheckpointManifest;
}

/**
 * Loads the key's checkpoint into `model` and returns its training logs, or null when there
 * is none. Throws CheckpointError (model untouched) when the checkpoint is corrupt or does
 * not match the key or the model's parameters.
 */
export function loadCheckpoint(
  model: Checkpointable,
  key: CheckpointKey,
  dir: string = settings.checkpointDir,
): TrainingLogs | null {
  const folder = checkpointFolder(key, dir);
  if (!fs.existsSync(path.join(folder, MANIFEST))) return null;
  const m = readManifest(folder);
  if (m.hash !== checkpointHash(key) || canonicalJson(m.key) !== canonicalJson(keyJson(key))) {
    throw new CheckpointError(
      folder,
      "its key differs from the requested one (configuration changed)",
    );
  }
  const log = parseLog(folder, m.log, "log");
  const history = parseLog(folder, m.history, "history");
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
  try {
    model.loadStateDict(decodeSafetensors(buf, m.weights.file).tensors);
  } catch (e) {
    throw new CheckpointError(folder, (e as Error).message);
  }
  return { log: logFrame(log, ["epoch", "steps"]), history: logFrame(history, ["step"]) };
}

export interface TrainOrLoadOptions {
  /** Default settings.checkpointDir. */
  dir?: string;
  /** Where the one-line report goes (default console.log). */
  report?: (line: string) => void;
}

export interface TrainOrLoadResult<M> extends TrainingLogs {
  model: M;
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
  trainFn: (model: M) => Promise<TrainingLogs> | TrainingLogs,
  options: TrainOrLoadOptions = {},
): Promise<TrainOrLoadResult<M>> {
  const dir = options.dir ?? settings.checkpointDir;
  const report = options.report ?? ((line: string) => console.log(line));
  const folder = checkpointFolder(key, dir);
  const name = path.basename(folder);
  const model = build();
  try {
    const logs = loadCheckpoint(model, key, dir);
    if (logs !== null) {
      report(`checkpoint ${name}: loaded (${plural(logs.log.height, "epoch")} logged)`);
      return { model, ...logs, loaded: true, folder };
    }
    report(`checkpoint ${name}: none yet, training`);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    report(`${e.message}; retraining`);
  }
  const { log, history } = await trainFn(model);
  saveCheckpoint(model, key, { log, history }, dir);
  report(`checkpoint ${name}: saved`);
  return { model, log, history, loaded: false, folder };
}
