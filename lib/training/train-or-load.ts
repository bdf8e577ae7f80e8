/**
 * A model trained once and loaded after: `trainOrLoad` loads the key's checkpoint if a usable
 * one exists, and otherwise trains under the key's lock, so that of several processes asking
 * for the same key one trains and the others load what it saved.
 */
import * as path from "node:path";
import { FileWriteError } from "../atomic-write";
import type { HeldLock } from "../lock-file";
import { settings } from "../settings";
import { plural } from "../viz/format";
import {
  type Checkpointable,
  checkpointFolder,
  loadCheckpoint,
  lockForTraining,
  writeCheckpoint,
} from "./checkpoint";
import { encodeCheckpoint } from "./checkpoint-format";
import { CheckpointError, type TrainingLogs } from "./checkpoint-manifest";
import type { CheckpointKey } from "./key";

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

/** Where trainOrLoad works, and where it says what it does. */
interface Place {
  dir: string;
  folder: string;
  report: (line: string) => void;
  warn: (line: string) => void;
}

async function loadOrTrain<M extends Checkpointable>(
  model: M,
  key: CheckpointKey,
  trainFn: (model: M) => Promise<TrainingLogs> | TrainingLogs,
  o: Place,
): Promise<TrainOrLoadResult<M>> {
  const { dir, folder, report } = o;
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
      report(
        `checkpoint ${path.basename(folder)}: loaded (${plural(logs.log.height, "epoch")} logged)`,
      );
      return { model, ...logs, loaded: true, folder };
    }
    return await trainAndSave(model, key, trainFn, problem, o);
  } finally {
    lock?.release();
  }
}

/** Trains the model and saves it; a save that cannot be written is a warning. */
async function trainAndSave<M extends Checkpointable>(
  model: M,
  key: CheckpointKey,
  trainFn: (model: M) => Promise<TrainingLogs> | TrainingLogs,
  problem: string | null,
  { dir, folder, report, warn }: Place,
): Promise<TrainOrLoadResult<M>> {
  const name = path.basename(folder);
  report(problem !== null ? `${problem}; retraining` : `checkpoint ${name}: none yet, training`);
  const trained = await trainFn(model);
  const prepared = encodeCheckpoint(model.stateDict(), key, trained, folder);
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
}
