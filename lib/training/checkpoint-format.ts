/**
 * A checkpoint's files, in its folder (checkpoint.ts says where, and writes them):
 *   weights-<sha256 prefix>.safetensors   the parameters by PyTorch name (lib/nn/safetensors)
 *   manifest.json                         key, weights file and sha256, training logs
 * How they are encoded, and read back: everything (JSON, key, size, sha256, tensor layout,
 * names and shapes, logs) is checked before a model is touched.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type StateDict, nonFinite } from "../nn/module";
import { decodeSafetensors, encodeSafetensors } from "../nn/safetensors";
import {
  CheckpointError,
  type TrainingLogs,
  type WeightsEntry,
  manifestText,
  parseManifest,
} from "./checkpoint-manifest";
import { type CheckpointKey, checkpointHash } from "./key";
import { logFrame } from "./train";

export const WEIGHTS_FILE = /^weights-[0-9a-f]{16}\.safetensors$/;

/** A checkpoint's two files, encoded, before anything touches the disk. */
export interface EncodedCheckpoint {
  bytes: Uint8Array;
  weightsFile: string;
  manifest: string;
}

/**
 * The files of a checkpoint of `state` (the folder, for messages). Refuses a parameter that
 * is not finite: a diverged model is not worth keeping.
 */
export function encodeCheckpoint(
  state: StateDict,
  key: CheckpointKey,
  logs: TrainingLogs,
  folder: string,
): EncodedCheckpoint {
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
  const weights = { file: weightsFile, bytes: bytes.byteLength, sha256 };
  return { bytes, weightsFile, manifest: manifestText(key, weights, logs) };
}

/** Everything a load assigns, read from the folder and checked against the manifest's text. */
export function readCheckpoint(
  folder: string,
  text: string,
  key: CheckpointKey,
): { state: StateDict; logs: TrainingLogs } {
  const m = parseManifest(folder, text, key);
  const state = readWeights(folder, m.weights, checkpointHash(key));
  let logs: TrainingLogs;
  try {
    logs = { log: logFrame(m.log, ["epoch", "steps"]), history: logFrame(m.history, ["step"]) };
  } catch (e) {
    throw new CheckpointError(folder, `manifest.json: unusable logs (${(e as Error).message})`);
  }
  return { state, logs };
}

/** The parameters in the weights file, checked: size, sha256, layout, values, key's hash. */
function readWeights(folder: string, w: WeightsEntry, hash: string): StateDict {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(folder, w.file));
  } catch (e) {
    throw new CheckpointError(
      folder,
      `weights file ${w.file} is unreadable (${(e as Error).message})`,
    );
  }
  if (buf.byteLength !== w.bytes) {
    throw new CheckpointError(
      folder,
      `weights file has ${buf.byteLength} bytes, the manifest says ${w.bytes}`,
    );
  }
  if (crypto.createHash("sha256").update(buf).digest("hex") !== w.sha256) {
    throw new CheckpointError(folder, "weights file does not match its sha256 (corrupt)");
  }
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(buf, w.file);
  } catch (e) {
    throw new CheckpointError(folder, (e as Error).message);
  }
  const bad = nonFinite(decoded.tensors);
  if (bad !== null) throw new CheckpointError(folder, `${w.file}: ${bad}`);
  if (decoded.metadata.key !== hash) {
    throw new CheckpointError(
      folder,
      `weights file ${w.file} belongs to checkpoint ${decoded.metadata.key ?? "(none named)"}, not this one`,
    );
  }
  return decoded.tensors;
}
