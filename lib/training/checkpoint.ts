/**
 * Checkpoints of trained models on disk: a folder per training run, named from a hash of
 * what determines the result (model configuration, dataset, seed, training), holding
 *   weights-<sha256 prefix>.safetensors   the parameters by PyTorch name (lib/nn/safetensors)
 *   manifest.json                         key, weights file and sha256, training logs
 * Both are written to a temporary file and renamed; the manifest last, so a folder is
 * either the old complete checkpoint or the new one. Loading checks everything (JSON, key,
 * size, sha256, tensor layout, names and shapes, logs) before touching the model.
 *
 * Concurrency: a lock file beside the folder (<name>-<hash>.lock) is held while a process
 * trains a key and while it saves, so one process trains and the others wait for its
 * checkpoint; readers take no lock (a load that raced a save reads the new manifest again).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type pl from "nodejs-polars";
import { FileWriteError, writeFileAtomic } from "../atomic-write";
import {
  acquireLock,
  describeHolder,
  type HeldLock,
  processAlive,
  withLockSync,
} from "../lock-file";
import { type StateDict, nonFinite } from "../nn/module";
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
  /** Frees the model's memory (nn modules: their variables); trainOrLoad calls it on failure. */
  dispose?(): void;
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
const WEIGHTS_FILE = /^weights-[0-9a-f]{16}\.safetensors$/;
/** writeFileAtomic's temporaries: <file>.<pid>.<n>.tmp */
const TEMPORARY_FILE = /\.(\d+)\.\d+\.tmp$/;
/** A training lock is refreshed this often; one not refreshed for LOCK_STALE_MS is stale. */
const LOCK_REFRESH_MS = 10_000;
const LOCK_STALE_MS = 5 * 60_000;
/** How often a process waiting for another one's training looks at the lock. */
const LOCK_POLL_MS = 200;
/** A load that raced a save reads the new manifest again, this many times at most. */
const LOAD_ATTEMPTS = 10;

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

/** The lock file of a key's checkpoint folder, beside it. */
function lockFileOf(folder: string): string {
  return `${folder}.lock`;
}

/**
 * Saves the model's parameters and its training logs under the key's folder; returns it.
 * Holds the key's lock while writing (waiting for a concurrent save). Refuses a parameter
 * that is not finite (a diverged model is not worth keeping). Any failure to write (a
 * read-only folder, a full disk, a file where the folder should be) is a FileWriteError.
 */
export function saveCheckpoint(
  model: Checkpointable,
  key: CheckpointKey,
  logs: TrainingLogs,
  dir: string = settings.checkpointDir,
): string {
  const folder = checkpointFolder(key, dir);
  const prepared = prepareSave(model, key, logs, folder);
  makeFolder(dir);
  withLockSync(lockFileOf(folder), () => writeCheckpoint(folder, prepared), {
    what: `saving ${path.basename(folder)}`,
    staleMs: LOCK_STALE_MS,
    giveUpMs: 60_000,
  });
  return folder;
}

interface PreparedSave {
  bytes: Uint8Array;
  weightsFile: string;
  manifest: string;
}

/** The bytes to write, checked and encoded before anything touches the disk. */
function prepareSave(
  model: Checkpointable,
  key: CheckpointKey,
  logs: TrainingLogs,
  folder: string,
): PreparedSave {
  const state = model.stateDict();
  for (const [name, t] of state) {
    if (!t.values.every(Number.isFinite)) {
      throw new Error(
        `saveCheckpoint ${path.basename(folder)}: parameter ${name} holds NaN or Infinity; not saved (the training diverged: lower the learning rate)`,
      );
    }
  }
  const hash = checkpointHash(key);
  // The key's hash in the weights file too: a weights file of another key is refused.
  const bytes = encodeSafetensors(state, { format: "dlc7-checkpoint", key: hash });
  const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
  const weightsFile = `weights-${sha256.slice(0, 16)}.safetensors`;
  const manifest: CheckpointManifest = {
    format: "dlc7-checkpoint",
    version: FORMAT_VERSION,
    hash,
    key: keyJson(key),
    created: new Date().toISOString(),
    weights: { file: weightsFile, bytes: bytes.byteLength, sha256 },
    log: logRows(logs.log),
    history: logRows(logs.history),
  };
  return { bytes, weightsFile, manifest: `${JSON.stringify(manifest, null, 1)}\n` };
}

/** mkdir -p, failing as a FileWriteError (a file in the way, a read-only parent...). */
function makeFolder(folder: string): void {
  try {
    fs.mkdirSync(folder, { recursive: true });
  } catch (e) {
    throw new FileWriteError(folder, e);
  }
}

/** The weights file the folder's manifest names, or null (none, unreadable). */
function referencedWeights(folder: string): string | null {
  try {
    const file = (
      JSON.parse(fs.readFileSync(path.join(folder, MANIFEST), "utf8")) as CheckpointManifest
    ).weights.file;
    return typeof file === "string" ? file : null;
  } catch {
    return null;
  }
}

/** Removes a file if it can: one left behind is harmless to the checkpoint. */
function remove(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // Kept (a read-only folder); the save itself says what is wrong.
  }
}

/**
 * Removes what earlier saves of this key left: temporaries of a save that was killed (unless
 * their process still runs) and weights files that `keep` does not name. Called holding the
 * key's lock, so no other save is under way. Best effort: what cannot be removed (a
 * read-only folder) stays, and the save itself says what is wrong.
 */
function removeLeftovers(folder: string, keep: string | null): void {
  let files: string[];
  try {
    files = fs.readdirSync(folder);
  } catch {
    return;
  }
  for (const f of files) {
    const file = path.join(folder, f);
    const tmp = TEMPORARY_FILE.exec(f);
    if (tmp !== null) {
      const pid = Number(tmp[1]);
      const ageMs = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (pid === process.pid || !processAlive(pid) || ageMs > LOCK_STALE_MS) remove(file);
    } else if (keep !== null && WEIGHTS_FILE.test(f) && f !== keep) {
      remove(file);
    }
  }
}

/** Writes a prepared checkpoint; the caller holds the key's lock (or could not create it). */
function writeCheckpoint(folder: string, prepared: PreparedSave): void {
  makeFolder(folder);
  // Temporaries of killed saves first: on a full disk, their space is needed.
  removeLeftovers(folder, referencedWeights(folder));
  const weightsPath = path.join(folder, prepared.weightsFile);
  const existed = fs.existsSync(weightsPath);
  writeFileAtomic(weightsPath, prepared.bytes, { fsync: true });
  try {
    writeFileAtomic(path.join(folder, MANIFEST), prepared.manifest, { fsync: true });
  } catch (e) {
    // Nothing half-written: weights no manifest names are removed.
    if (!existed && referencedWeights(folder) !== prepared.weightsFile) remove(weightsPath);
    throw e;
  }
  // The previous save's weights are no longer referenced.
  removeLeftovers(folder, prepared.weightsFile);
}

/** A manifest.json field that is not what it should be. */
function invalid(folder: string, field: string, expected: string): CheckpointError {
  return new CheckpointError(folder, `manifest.json: "${field}" is not ${expected}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The columns of a log that hold integers (polars Int32), by log. */
const INTEGER_COLUMNS = { log: ["epoch", "steps"], history: ["step"] } as const;

/** Log rows as written by logRows: one set of columns, numbers or null (non-finite). */
function parseLog(folder: string, value: unknown, what: "log" | "history"): LogRow[] {
  if (!Array.isArray(value)) throw invalid(folder, what, "a list of rows");
  const columns = isObject(value[0]) ? Object.keys(value[0]) : [];
  return value.map((row: unknown, i) => {
    if (!isObject(row)) throw invalid(folder, `${what}[${i}]`, "an object");
    const keys = Object.keys(row);
    if (keys.length !== columns.length || keys.some((k, j) => k !== columns[j])) {
      throw invalid(folder, `${what}[${i}]`, `a row with the columns ${columns.join(", ")}`);
    }
    const out: LogRow = {};
    for (const k of keys) {
      const v = row[k];
      if ((INTEGER_COLUMNS[what] as readonly string[]).includes(k)) {
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 2 ** 31 - 1) {
          throw invalid(folder, `${what}[${i}].${k}`, "a non-negative integer");
        }
      } else if (v !== null && typeof v !== "number") {
        throw invalid(folder, `${what}[${i}].${k}`, "a number");
      }
      out[k] = (v as number | null) ?? NaN;
    }
    return out;
  });
}

/** A manifest checked field by field against the key; nothing is trusted before this. */
interface ValidManifest {
  weights: { file: string; bytes: number; sha256: string };
  log: LogRow[];
  history: LogRow[];
}

function parseManifest(folder: string, text: string, key: CheckpointKey): ValidManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(folder, `manifest.json is unreadable (${(e as Error).message})`);
  }
  if (!isObject(m) || m.format !== "dlc7-checkpoint" || m.version !== FORMAT_VERSION) {
    throw new CheckpointError(
      folder,
      `manifest.json is not a dlc7 checkpoint manifest (version ${FORMAT_VERSION})`,
    );
  }
  if (typeof m.hash !== "string" || !/^[0-9a-f]{16}$/.test(m.hash)) {
    throw invalid(folder, "hash", "16 hexadecimal digits");
  }
  if (m.hash !== checkpointHash(key) || !sameKey(m.key, key)) {
    throw new CheckpointError(
      folder,
      "its key differs from the requested one (configuration changed)",
    );
  }
  if (typeof m.created !== "string") throw invalid(folder, "created", "a date");
  const w = m.weights;
  if (!isObject(w)) throw invalid(folder, "weights", "an object");
  if (typeof w.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(w.sha256)) {
    throw invalid(folder, "weights.sha256", "64 hexadecimal digits");
  }
  if (typeof w.file !== "string" || w.file !== `weights-${w.sha256.slice(0, 16)}.safetensors`) {
    throw invalid(folder, "weights.file", "weights-<sha256 prefix>.safetensors");
  }
  if (!Number.isSafeInteger(w.bytes) || (w.bytes as number) < 8) {
    throw invalid(folder, "weights.bytes", "a file size");
  }
  return {
    weights: { file: w.file, bytes: w.bytes as number, sha256: w.sha256 },
    log: parseLog(folder, m.log, "log"),
    history: parseLog(folder, m.history, "history"),
  };
}

/** Whether a manifest's key is `key` (false for anything canonicalJson refuses, e.g. 1e400). */
function sameKey(stored: unknown, key: CheckpointKey): boolean {
  try {
    return canonicalJson(stored as Json) === canonicalJson(keyJson(key));
  } catch {
    return false;
  }
}

/** manifest.json's text, or null when the folder has none. */
function readManifestText(folder: string): string | null {
  try {
    return fs.readFileSync(path.join(folder, MANIFEST), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new CheckpointError(folder, `manifest.json is unreadable (${(e as Error).message})`);
  }
}

/** Everything a load assigns, read and checked. */
function readCheckpoint(
  folder: string,
  text: string,
  key: CheckpointKey,
): { state: StateDict; logs: TrainingLogs } {
  const m = parseManifest(folder, text, key);
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
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(buf, m.weights.file);
  } catch (e) {
    throw new CheckpointError(folder, (e as Error).message);
  }
  const bad = nonFinite(decoded.tensors);
  if (bad !== null) throw new CheckpointError(folder, `${m.weights.file}: ${bad}`);
  if (decoded.metadata.key !== checkpointHash(key)) {
    throw new CheckpointError(
      folder,
      `weights file ${m.weights.file} belongs to checkpoint ${decoded.metadata.key ?? "(none named)"}, not this one`,
    );
  }
  let logs: TrainingLogs;
  try {
    logs = { log: logFrame(m.log, ["epoch", "steps"]), history: logFrame(m.history, ["step"]) };
  } catch (e) {
    throw new CheckpointError(folder, `manifest.json: unusable logs (${(e as Error).message})`);
  }
  return { state: decoded.tensors, logs };
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
  for (let attempt = 1; ; attempt++) {
    const text = readManifestText(folder);
    if (text === null) return null;
    let read: { state: StateDict; logs: TrainingLogs };
    try {
      read = readCheckpoint(folder, text, key);
    } catch (e) {
      // A save replaced the manifest meanwhile (and removed the weights it named): read again.
      if (attempt < LOAD_ATTEMPTS && readManifestText(folder) !== text) continue;
      throw e;
    }
    try {
      model.loadStateDict(read.state);
    } catch (e) {
      throw new CheckpointError(folder, (e as Error).message);
    }
    return read.logs;
  }
}

export interface TrainOrLoadOptions {
  /** Default settings.checkpointDir. */
  dir?: string;
  /** Where the one-line report goes (default console.log). */
  report?: (line: string) => void;
  /** Where a warning goes (default console.warn): a checkpoint that could not be saved. */
  warn?: (line: string) => void;
}

export interface TrainOrLoadResult<M> extends TrainingLogs {
  model: M;
  /** true when the parameters came from disk. */
  loaded: boolean;
  folder: string;
}

/**
 * Builds the model, then loads its checkpoint if a usable one exists; otherwise (none,
 * corrupt, mismatched: said in one line) trains it with `trainFn` and saves it. While a
 * process trains a key, others asking for it wait and then load its checkpoint. A save that
 * fails (read-only folder, full disk...) is a warning: the trained model is returned. On
 * any error (an interrupted training, a refused save) the built model is disposed first.
 */
export async function trainOrLoad<M extends Checkpointable>(
  key: CheckpointKey,
  build: () => M,
  trainFn: (model: M) => Promise<TrainingLogs> | TrainingLogs,
  options: TrainOrLoadOptions = {},
): Promise<TrainOrLoadResult<M>> {
  const dir = options.dir ?? settings.checkpointDir;
  const report = options.report ?? ((line: string) => console.log(line));
  const warn = options.warn ?? ((line: string) => console.warn(line));
  const folder = checkpointFolder(key, dir);
  const model = build();
  try {
    return await loadOrTrain(model, key, trainFn, { dir, folder, report, warn });
  } catch (e) {
    // Nobody else holds the model yet: whatever failed (an interrupt, a refused save, a
    // lock that could not be taken), its tensors are freed here.
    model.dispose?.();
    throw e;
  }
}

async function loadOrTrain<M extends Checkpointable>(
  model: M,
  key: CheckpointKey,
  trainFn: (model: M) => Promise<TrainingLogs> | TrainingLogs,
  o: { dir: string; folder: string; report: (line: string) => void; warn: (line: string) => void },
): Promise<TrainOrLoadResult<M>> {
  const { dir, folder, report, warn } = o;
  const name = path.basename(folder);
  let problem: string | null = null;
  const load = (): TrainingLogs | null => {
    try {
      return loadCheckpoint(model, key, dir);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      problem = e.message;
      return null;
    }
  };
  let logs = load();
  let lock: HeldLock | null = null;
  try {
    if (logs === null) {
      lock = await lockForTraining(folder, dir, report);
      // The process we waited for (or one that finished meanwhile) may have saved it.
      if (lock !== null) logs = load();
    }
    if (logs !== null) {
      report(`checkpoint ${name}: loaded (${plural(logs.log.height, "epoch")} logged)`);
      return { model, ...logs, loaded: true, folder };
    }
    report(problem !== null ? `${problem}; retraining` : `checkpoint ${name}: none yet, training`);
    const trained = await trainFn(model);
    const prepared = prepareSave(model, key, trained, folder);
    try {
      writeCheckpoint(folder, prepared);
      report(`checkpoint ${name}: saved`);
    } catch (e) {
      if (!(e instanceof FileWriteError)) throw e;
      warn(
        `checkpoint ${name}: NOT SAVED in ${dir} (${e.file}: ${e.reason}); the trained model ` +
          "is used in this session only. To keep checkpoints, set DLC_CHECKPOINT_DIR to a writable folder.",
      );
    }
    return { model, log: trained.log, history: trained.history, loaded: false, folder };
  } finally {
    lock?.release();
  }
}

/**
 * The key's lock, for training it: waits (saying so once) while another live process
 * trains the same key. Null when no lock file can be created there (the save will fail
 * too, and say why).
 */
async function lockForTraining(
  folder: string,
  dir: string,
  report: (line: string) => void,
): Promise<HeldLock | null> {
  const name = path.basename(folder);
  try {
    makeFolder(dir);
    return await acquireLock(lockFileOf(folder), {
      what: `training ${name}`,
      staleMs: LOCK_STALE_MS,
      refreshMs: LOCK_REFRESH_MS,
      pollMs: LOCK_POLL_MS,
      onWait: (holder) =>
        report(`checkpoint ${name}: being trained by ${describeHolder(holder)}; waiting for it`),
      onTakeOver: (holder, why) =>
        report(`checkpoint ${name}: taking over the lock of ${describeHolder(holder)}, ${why}`),
    });
  } catch (e) {
    if (e instanceof FileWriteError) return null;
    throw e;
  }
}
