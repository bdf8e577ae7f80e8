/**
 * A checkpoint's manifest.json: its key, the weights file with its size and sha256, and the
 * training logs; how it is written, and checked field by field when read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type pl from "nodejs-polars";
import {
  type CheckpointKey,
  FORMAT_VERSION,
  type Json,
  canonicalJson,
  checkpointHash,
  keyJson,
} from "./key";
import type { LogRow } from "./train";

export const MANIFEST = "manifest.json";

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

/** The training logs a checkpoint keeps: per epoch, and every few steps. */
export interface TrainingLogs {
  log: pl.DataFrame;
  history: pl.DataFrame;
}

/** The weights file as the manifest names it. */
export interface WeightsEntry {
  file: string;
  bytes: number;
  sha256: string;
}

interface CheckpointManifest {
  format: "dlc7-checkpoint";
  version: typeof FORMAT_VERSION;
  hash: string;
  key: Json;
  created: string;
  weights: WeightsEntry;
  log: Array<Record<string, number | null>>;
  history: Array<Record<string, number | null>>;
}

/** manifest.json's text for the key's weights and logs. */
export function manifestText(
  key: CheckpointKey,
  weights: WeightsEntry,
  logs: TrainingLogs,
): string {
  const manifest: CheckpointManifest = {
    format: "dlc7-checkpoint",
    version: FORMAT_VERSION,
    hash: checkpointHash(key),
    key: keyJson(key),
    created: new Date().toISOString(),
    weights,
    log: logRows(logs.log),
    history: logRows(logs.history),
  };
  return `${JSON.stringify(manifest, null, 1)}\n`;
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

/** The weights file the folder's manifest names, or null (none, unreadable). */
export function manifestWeightsFile(folder: string): string | null {
  try {
    const file = (
      JSON.parse(fs.readFileSync(path.join(folder, MANIFEST), "utf8")) as CheckpointManifest
    ).weights.file;
    return typeof file === "string" ? file : null;
  } catch {
    return null;
  }
}

/** manifest.json's text, or null when the folder has none. */
export function readManifestText(folder: string): string | null {
  try {
    return fs.readFileSync(path.join(folder, MANIFEST), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new CheckpointError(folder, `manifest.json is unreadable (${(e as Error).message})`);
  }
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
  weights: WeightsEntry;
  log: LogRow[];
  history: LogRow[];
}

export function parseManifest(folder: string, text: string, key: CheckpointKey): ValidManifest {
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
  return {
    weights: parseWeights(folder, m.weights),
    log: parseLog(folder, m.log, "log"),
    history: parseLog(folder, m.history, "history"),
  };
}

/** The manifest's `weights`: the file, named after its sha256, and its size. */
function parseWeights(folder: string, w: unknown): WeightsEntry {
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
  return { file: w.file, bytes: w.bytes as number, sha256: w.sha256 };
}

/** Whether a manifest's key is `key` (false for anything canonicalJson refuses, e.g. 1e400). */
function sameKey(stored: unknown, key: CheckpointKey): boolean {
  try {
    return canonicalJson(stored as Json) === canonicalJson(keyJson(key));
  } catch {
    return false;
  }
}
