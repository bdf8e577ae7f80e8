/**
 * Checkpoints of trained models on disk: a folder per training run, named from the hash of
 * its key (key.ts: what determines the result), holding the weights and the manifest
 * (checkpoint-format.ts, checkpoint-manifest.ts). Both are written to a temporary file and
 * renamed; the manifest last, so a folder is either the old complete checkpoint or the new
 * one. What killed saves leave behind goes at the next save.
 *
 * Concurrency: a lock file beside the folder (<name>-<hash>.lock) is held while a process
 * trains a key and while it saves, so one process trains and the others wait for its
 * checkpoint; readers take no lock (a load that raced a save reads the new manifest again).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileWriteError, writeFileAtomic } from "../atomic-write";
import {
  acquireLock,
  describeHolder,
  type HeldLock,
  processAlive,
  withLockSync,
} from "../lock-file";
import type { StateDict } from "../nn/module";
import { settings } from "../settings";
import {
  type EncodedCheckpoint,
  WEIGHTS_FILE,
  encodeCheckpoint,
  readCheckpoint,
} from "./checkpoint-format";
import {
  CheckpointError,
  MANIFEST,
  type TrainingLogs,
  manifestWeightsFile,
  readManifestText,
} from "./checkpoint-manifest";
import { type CheckpointKey, checkpointHash } from "./key";

/** A model whose parameters can be saved and restored: the nn module system. */
export interface Checkpointable {
  stateDict(): StateDict;
  loadStateDict(dict: StateDict): void;
  /** Frees the model's memory (nn modules: their variables); trainOrLoad calls it on failure. */
  dispose?(): void;
}

/** writeFileAtomic's temporaries: <file>.<pid>.<n>.tmp */
const TEMPORARY_FILE = /\.(\d+)\.\d+\.tmp$/;
/** A training lock is refreshed this often; one not refreshed for LOCK_STALE_MS is stale. */
const LOCK_REFRESH_MS = 10_000;
const LOCK_STALE_MS = 5 * 60_000;
/** How often a process waiting for another one's training looks at the lock. */
const LOCK_POLL_MS = 200;
/** A load that raced a save reads the new manifest again, this many times at most. */
const LOAD_ATTEMPTS = 10;

/** The folder of a key's checkpoint: <dir>/<name>-<hash>. */
export function checkpointFolder(key: CheckpointKey, dir: string = settings.checkpointDir): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key.name)) {
    throw new Error(`checkpoint name "${key.name}": use letters, digits, "-", "_" and "." only`);
  }
  return path.join(dir, `${key.name}-${checkpointHash(key)}`);
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
  const prepared = encodeCheckpoint(model.stateDict(), key, logs, folder);
  makeFolder(dir);
  withLockSync(lockFileOf(folder), () => writeCheckpoint(folder, prepared), {
    what: `saving ${path.basename(folder)}`,
    staleMs: LOCK_STALE_MS,
    giveUpMs: 60_000,
  });
  return folder;
}

/** mkdir -p, failing as a FileWriteError (a file in the way, a read-only parent...). */
function makeFolder(folder: string): void {
  try {
    fs.mkdirSync(folder, { recursive: true });
  } catch (e) {
    throw new FileWriteError(folder, e);
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
export function writeCheckpoint(folder: string, prepared: EncodedCheckpoint): void {
  makeFolder(folder);
  // Temporaries of killed saves first: on a full disk, their space is needed.
  removeLeftovers(folder, manifestWeightsFile(folder));
  const weightsPath = path.join(folder, prepared.weightsFile);
  const existed = fs.existsSync(weightsPath);
  writeFileAtomic(weightsPath, prepared.bytes, { fsync: true });
  try {
    writeFileAtomic(path.join(folder, MANIFEST), prepared.manifest, { fsync: true });
  } catch (e) {
    // Nothing half-written: weights no manifest names are removed.
    if (!existed && manifestWeightsFile(folder) !== prepared.weightsFile) remove(weightsPath);
    throw e;
  }
  // The previous save's weights are no longer referenced.
  removeLeftovers(folder, prepared.weightsFile);
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

/**
 * The key's lock, for training it: waits (saying so once) while another live process
 * trains the same key. Null when no lock file can be created there (the save will fail
 * too, and say why).
 */
export async function lockForTraining(
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
